"""Staking operations: the API (scopes, idempotency, validation, audit) and the engine's
runner (sign, persist before broadcast, follow, finalize, expire, payouts first) against a
devnet over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from node.support import DEMO_KEY, USDT_HEX, addr, advance_time
from tron_devnet.testing import DevnetHandle, produce_blocks
from tronpay.audit.models import AuditEntry
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine.config import EngineConfig
from tronpay.engine.context import EngineContext
from tronpay.engine.planner import Planner
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.signer.local import LocalSigner
from tronpay.tron.address import to_hex
from tronpay.tron.node import NodeClient
from tronpay.wallet.executor import OperationsRunner
from tronpay.wallet.models import WalletOperation

from .conftest import TokenFactory

TRX = 1_000_000
CONFIG = EngineConfig(
    tx_expiration_s=5, expiry_margin_s=1, rebroadcast_interval_s=0.05, node_timeout_s=2.0
)


@pytest.fixture
async def admin(app: FastAPI, token: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token('wallet:admin wallet:read')}"},
    ) as http:
        yield http


@pytest.fixture
async def runner(app: FastAPI, devnet: DevnetHandle) -> AsyncIterator[OperationsRunner]:
    async with NodeClient([devnet.url], timeout=httpx.Timeout(2.0, connect=1.0)) as node:
        signer = LocalSigner(DEMO_KEY)
        maker = app.state.sessionmaker
        ctx = EngineContext(
            sessionmaker=maker,
            node=node,
            planner=Planner(node, hot_wallet=signer.address, token_contract=USDT_HEX),
            signer=signer,
            token_contract=USDT_HEX,
            config=CONFIG,
            postgres=maker.kw["bind"].dialect.name == "postgresql",
        )
        yield OperationsRunner(ctx)


async def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={"Idempotency-Key": key})


async def _queue(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await _post(client, path, body, new_id("key"))
    assert response.status_code == 202, response.text
    op_id: str = response.json()["id"]
    return op_id


async def _op(client: httpx.AsyncClient, op_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/wallet/operations/{op_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _settle(
    runner: OperationsRunner, devnet: DevnetHandle, client: httpx.AsyncClient, op_id: str
) -> dict[str, Any]:
    """Run the runner and produce blocks until the operation is final."""
    for _ in range(12):
        await runner.step()
        op = await _op(client, op_id)
        if op["status"] in ("finalized", "failed", "expired"):
            return op
        await produce_blocks(devnet.url, 1)
    raise AssertionError(f"operation {op_id} did not settle: {op}")


async def _account(devnet: DevnetHandle) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=devnet.url) as http:
        body: dict[str, Any] = (
            await http.post("/wallet/getaccount", json={"address": to_hex(DEMO_KEY.address)})
        ).json()
        return body


async def test_queue_is_idempotent_scoped_validated_and_audited(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = {"amount": "100", "resource": "ENERGY"}
    first = await _post(admin, "/v1/wallet/stake", body, "k-1")
    assert first.status_code == 202, first.text
    op = first.json()
    assert op["status"] == "queued"
    assert op["kind"] == "stake"
    assert op["amount"] == "100"
    assert first.headers["Location"] == f"/v1/wallet/operations/{op['id']}"
    again = await _post(admin, "/v1/wallet/stake", body, "k-1")
    assert again.status_code == 202
    assert again.json() == op
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await _post(admin, "/v1/wallet/stake", {"amount": "101"}, "k-1")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    missing = await admin.post("/v1/wallet/stake", json=body)
    assert missing.json()["code"] == "idempotency_key_missing"
    small = await _post(admin, "/v1/wallet/unstake", {"amount": "0.5"}, "k-2")
    assert small.json()["code"] == "invalid_wallet_operation"
    unlocked = await _post(
        admin,
        "/v1/wallet/delegate",
        {"receiver": addr(70), "amount": "5", "lock_period": 10},
        "k-3",
    )
    assert unlocked.json()["code"] == "invalid_wallet_operation"
    extra = await _post(admin, "/v1/wallet/withdraw-unstaked", {"x": 1}, "k-4")
    assert extra.status_code == 422
    # wallet:read may read, not stake
    refused = await _post(client, "/v1/wallet/stake", body, "k-5")
    assert refused.status_code == 403
    assert (await _op(client, op["id"]))["id"] == op["id"]
    listed = (await client.get("/v1/wallet/operations", params={"status": "queued"})).json()
    assert [o["id"] for o in listed["items"]] == [op["id"]]
    missing_op = await client.get("/v1/wallet/operations/wop_nope")
    assert missing_op.status_code == 404
    assert missing_op.json()["code"] == "wallet_operation_not_found"
    async with read_transaction(app.state.sessionmaker) as session:
        actions = list(
            (
                await session.scalars(
                    select(AuditEntry.action).where(AuditEntry.entity_id == op["id"])
                )
            ).all()
        )
    assert actions == ["wallet.stake.requested"]


async def test_every_operation_signed_persisted_broadcast_and_finalized(
    admin: httpx.AsyncClient, runner: OperationsRunner, devnet: DevnetHandle, app: FastAPI
) -> None:
    receiver = addr(71)
    async with httpx.AsyncClient(base_url=devnet.url) as http:
        minted = await http.post("/admin/mint", json={"address": receiver, "trx_sun": TRX})
        assert minted.status_code == 200
    stake = await _queue(admin, "/v1/wallet/stake", {"amount": "1000", "resource": "ENERGY"})
    await runner.step()
    async with read_transaction(app.state.sessionmaker) as session:
        row = await session.get(WalletOperation, stake)
        assert row is not None
        assert row.status == "broadcast"  # committed as signed first, then sent
        assert row.txid is not None
        assert row.raw_data
        assert row.signature
    done = await _settle(runner, devnet, admin, stake)
    assert done["status"] == "finalized", done
    assert done["block_number"] > 0
    account = await _account(devnet)
    assert account["frozenV2"][1] == {"type": "ENERGY", "amount": 1_000 * TRX}

    delegate = await _queue(
        admin,
        "/v1/wallet/delegate",
        {
            "receiver": receiver,
            "amount": "200",
            "resource": "ENERGY",
            "lock": True,
            "lock_period": 20,
        },
    )
    assert (await _settle(runner, devnet, admin, delegate))["status"] == "finalized"
    await advance_time(devnet.url, 120)
    undelegate = await _queue(
        admin, "/v1/wallet/undelegate", {"receiver": receiver, "amount": "200"}
    )
    assert (await _settle(runner, devnet, admin, undelegate))["status"] == "finalized"
    unstake = await _queue(admin, "/v1/wallet/unstake", {"amount": "300"})
    assert (await _settle(runner, devnet, admin, unstake))["status"] == "finalized"
    assert (await _account(devnet))["unfrozenV2"][0]["unfreeze_amount"] == 300 * TRX
    cancel = await _queue(admin, "/v1/wallet/cancel-unstakes", {})
    assert (await _settle(runner, devnet, admin, cancel))["status"] == "finalized"
    account = await _account(devnet)
    assert "unfrozenV2" not in account
    assert account["frozenV2"][1]["amount"] == 1_000 * TRX

    unstake = await _queue(admin, "/v1/wallet/unstake", {"amount": "50"})
    assert (await _settle(runner, devnet, admin, unstake))["status"] == "finalized"
    await advance_time(devnet.url, 14 * 86_400)
    withdraw = await _queue(admin, "/v1/wallet/withdraw-unstaked", {})
    assert (await _settle(runner, devnet, admin, withdraw))["status"] == "finalized"
    assert "unfrozenV2" not in await _account(devnet)

    # a transaction the chain refuses never reaches a block: it expires, it is not retried
    too_much = await _queue(admin, "/v1/wallet/unstake", {"amount": "5000"})
    await runner.step()
    refused = await _op(admin, too_much)
    assert refused["status"] == "signed"
    assert "CONTRACT_VALIDATE_ERROR" in refused["error"]
    await advance_time(devnet.url, 30)
    await produce_blocks(devnet.url, 3)
    assert (await _settle(runner, devnet, admin, too_much))["status"] == "expired"

    async with read_transaction(app.state.sessionmaker) as session:
        actions = (
            await session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == stake))
        ).all()
    assert list(actions) == [
        "wallet.stake.requested",
        "wallet.stake.signed",
        "wallet.stake.confirmed",
        "wallet.stake.finalized",
    ]


async def test_a_stake_never_takes_trx_held_for_payouts(
    admin: httpx.AsyncClient, runner: OperationsRunner, devnet: DevnetHandle, app: FastAPI
) -> None:
    balance = (await _account(devnet))["balance"]
    now = utcnow()
    async with write_transaction(app.state.sessionmaker) as session:
        payout_id = new_id("po")
        session.add(
            Payout(
                id=payout_id,
                client="test",
                to_address=addr(72),
                asset="TRX",
                amount=balance - 500 * TRX,
                status="submitted",
                created_by="tester",
                created_at=now,
                updated_at=now,
                attempt_count=1,
            )
        )
        await session.flush()
        session.add(
            PayoutAttempt(
                id=new_id("at"),
                payout_id=payout_id,
                txid="ab" * 32,
                raw_data=b"\x00",
                signature=b"\x00",
                expiration_ms=0,
                status="broadcast",
                created_at=now,
                updated_at=now,
            )
        )
    big = await _queue(admin, "/v1/wallet/stake", {"amount": "600"})
    small = await _queue(admin, "/v1/wallet/stake", {"amount": "400"})
    assert await runner.step() == 1
    blocked = await _op(admin, big)
    assert blocked["status"] == "queued"
    assert blocked["blocked_reason"] == "insufficient_trx"
    assert (await _op(admin, small))["status"] == "broadcast"


async def test_an_operation_that_cannot_be_built_fails_without_signing(
    admin: httpx.AsyncClient, runner: OperationsRunner, app: FastAPI
) -> None:
    now = utcnow()
    async with write_transaction(app.state.sessionmaker) as session:
        session.add(
            WalletOperation(
                id="wop_unbuildable",
                kind="stake",
                resource="TRON_POWER",  # never accepted by the API; the builder refuses it
                amount=5 * TRX,
                lock=False,
                status="queued",
                created_by="tester",
                idempotency_key="k-unbuildable",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
    assert await runner.step() == 0
    op = await _op(admin, "wop_unbuildable")
    assert op["status"] == "failed"
    assert op["txid"] is None
    assert "resource" in op["error"]


async def test_a_crash_between_commit_and_broadcast_sends_the_same_bytes_later(
    admin: httpx.AsyncClient, runner: OperationsRunner, devnet: DevnetHandle, app: FastAPI
) -> None:
    op_id = await _queue(admin, "/v1/wallet/stake", {"amount": "10"})
    [signed] = await runner._sign_queued()  # committed as signed; the engine dies before sending
    assert (await _op(admin, op_id))["status"] == "signed"
    restarted = OperationsRunner(runner.ctx)
    done = await _settle(restarted, devnet, admin, op_id)
    assert done["status"] == "finalized"
    assert done["txid"] == signed.txid  # the bytes committed before the crash, not new ones
    async with read_transaction(app.state.sessionmaker) as session:
        row = await session.get(WalletOperation, op_id)
        assert row is not None
        assert row.attempts == 1
