"""Staking operations: the API (scopes, idempotency, validation, audit) and the engine's
runner (sign, persist before broadcast, follow, finalize, expire, payouts first) against a
devnet over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from node.support import addr, advance_time
from tron_devnet.testing import DevnetHandle, produce_blocks
from tronpay.audit.models import AuditEntry
from tronpay.db.session import read_transaction, write_transaction
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.wallet.executor import OperationsRunner
from tronpay.wallet.models import WalletOperation

from .support import TRX, chain_account, get_op, post, queue_op, settle


async def test_queue_is_idempotent_scoped_validated_and_audited(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = {"amount": "100", "resource": "ENERGY"}
    first = await post(admin, "/v1/wallet/stake", body, "k-1")
    assert first.status_code == 202, first.text
    op = first.json()
    assert op["status"] == "queued"
    assert op["kind"] == "stake"
    assert op["amount"] == "100"
    assert first.headers["Location"] == f"/v1/wallet/operations/{op['id']}"
    again = await post(admin, "/v1/wallet/stake", body, "k-1")
    assert again.status_code == 202
    assert again.json() == op
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await post(admin, "/v1/wallet/stake", {"amount": "101"}, "k-1")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    missing = await admin.post("/v1/wallet/stake", json=body)
    assert missing.json()["code"] == "idempotency_key_missing"
    small = await post(admin, "/v1/wallet/unstake", {"amount": "0.5"}, "k-2")
    assert small.json()["code"] == "invalid_wallet_operation"
    unlocked = await post(
        admin,
        "/v1/wallet/delegate",
        {"receiver": addr(70), "amount": "5", "lock_period": 10},
        "k-3",
    )
    assert unlocked.json()["code"] == "invalid_wallet_operation"
    extra = await post(admin, "/v1/wallet/withdraw-unstaked", {"x": 1}, "k-4")
    assert extra.status_code == 422
    # wallet:read may read, not stake
    refused = await post(client, "/v1/wallet/stake", body, "k-5")
    assert refused.status_code == 403
    assert (await get_op(client, op["id"]))["id"] == op["id"]
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
    stake = await queue_op(admin, "/v1/wallet/stake", {"amount": "1000", "resource": "ENERGY"})
    await runner.step()
    async with read_transaction(app.state.sessionmaker) as session:
        row = await session.get(WalletOperation, stake)
        assert row is not None
        assert row.status == "broadcast"  # committed as signed first, then sent
        assert row.txid is not None
        assert row.raw_data
        assert row.signature
    done = await settle(runner, devnet, admin, stake)
    assert done["status"] == "finalized", done
    assert done["block_number"] > 0
    account = await chain_account(devnet)
    assert account["frozenV2"][1] == {"type": "ENERGY", "amount": 1_000 * TRX}

    delegate = await queue_op(
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
    assert (await settle(runner, devnet, admin, delegate))["status"] == "finalized"
    await advance_time(devnet.url, 120)
    undelegate = await queue_op(
        admin, "/v1/wallet/undelegate", {"receiver": receiver, "amount": "200"}
    )
    assert (await settle(runner, devnet, admin, undelegate))["status"] == "finalized"
    unstake = await queue_op(admin, "/v1/wallet/unstake", {"amount": "300"})
    assert (await settle(runner, devnet, admin, unstake))["status"] == "finalized"
    assert (await chain_account(devnet))["unfrozenV2"][0]["unfreeze_amount"] == 300 * TRX
    cancel = await queue_op(admin, "/v1/wallet/cancel-unstakes", {})
    assert (await settle(runner, devnet, admin, cancel))["status"] == "finalized"
    account = await chain_account(devnet)
    assert "unfrozenV2" not in account
    assert account["frozenV2"][1]["amount"] == 1_000 * TRX

    unstake = await queue_op(admin, "/v1/wallet/unstake", {"amount": "50"})
    assert (await settle(runner, devnet, admin, unstake))["status"] == "finalized"
    await advance_time(devnet.url, 14 * 86_400)
    withdraw = await queue_op(admin, "/v1/wallet/withdraw-unstaked", {})
    assert (await settle(runner, devnet, admin, withdraw))["status"] == "finalized"
    assert "unfrozenV2" not in await chain_account(devnet)

    # a transaction the chain refuses never reaches a block: once proven dead it fails with the
    # refusal (it is not retried)
    too_much = await queue_op(admin, "/v1/wallet/unstake", {"amount": "5000"})
    await runner.step()
    refused = await get_op(admin, too_much)
    assert refused["status"] == "signed"
    assert "CONTRACT_VALIDATE_ERROR" in refused["error"]
    await advance_time(devnet.url, 30)
    await produce_blocks(devnet.url, 3)
    failed = await settle(runner, devnet, admin, too_much)
    assert failed["status"] == "failed"  # proven dead, and the chain said why
    assert "CONTRACT_VALIDATE_ERROR" in failed["error"]

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
    balance = (await chain_account(devnet))["balance"]
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
    big = await queue_op(admin, "/v1/wallet/stake", {"amount": "600"})
    small = await queue_op(admin, "/v1/wallet/stake", {"amount": "400"})
    assert await runner.step() == 1
    blocked = await get_op(admin, big)
    assert blocked["status"] == "queued"
    assert blocked["blocked_reason"] == "insufficient_trx"
    assert (await get_op(admin, small))["status"] == "broadcast"


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
    op = await get_op(admin, "wop_unbuildable")
    assert op["status"] == "failed"
    assert op["txid"] is None
    assert "resource" in op["error"]


async def test_a_crash_between_commit_and_broadcast_sends_the_same_bytes_later(
    admin: httpx.AsyncClient, runner: OperationsRunner, devnet: DevnetHandle, app: FastAPI
) -> None:
    op_id = await queue_op(admin, "/v1/wallet/stake", {"amount": "10"})
    [signed] = await runner._sign_queued()  # committed as signed; the engine dies before sending
    assert (await get_op(admin, op_id))["status"] == "signed"
    restarted = OperationsRunner(runner.ctx)
    done = await settle(restarted, devnet, admin, op_id)
    assert done["status"] == "finalized"
    assert done["txid"] == signed.txid  # the bytes committed before the crash, not new ones
    async with read_transaction(app.state.sessionmaker) as session:
        row = await session.get(WalletOperation, op_id)
        assert row is not None
        assert row.attempts == 1
