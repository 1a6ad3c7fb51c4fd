"""``GET /v1/wallet`` through the app, on SQLite and PostgreSQL, against a devnet over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from node.support import DEMO_KEY, addr, advance_time, node_built
from tron_devnet.testing import DevnetHandle, produce_blocks
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.kit.money import format_amount, parse_amount
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.tron.address import to_hex

from .conftest import TokenFactory

TRX = 1_000_000
TOTAL_ENERGY = 2_000_000  # the devnet's total_energy_limit in conftest


async def _wallet(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/v1/wallet")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _devnet_account(devnet: DevnetHandle, address: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=devnet.url) as http:
        body: dict[str, Any] = (
            await http.post("/wallet/getaccount", json={"address": to_hex(address)})
        ).json()
        return body


async def _stake(devnet: DevnetHandle, path: str, body: dict[str, Any]) -> None:
    await node_built(devnet.url, DEMO_KEY, path, body)
    await produce_blocks(devnet.url, 1)


async def _add_in_flight(app: FastAPI) -> None:
    """Two payouts with a broadcast, unconfirmed attempt each: 5 USDT and 2 TRX."""
    now = utcnow()
    async with write_transaction(app.state.sessionmaker) as session:
        for asset, amount, fee_limit in (("USDT", 5 * TRX, 30 * TRX), ("TRX", 2 * TRX, 0)):
            pid = new_id("po")
            session.add(
                Payout(
                    id=pid,
                    client="test",
                    to_address=addr(60),
                    asset=asset,
                    amount=amount,
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
                    payout_id=pid,
                    txid=new_id("tx").ljust(64, "0")[:64],
                    raw_data=b"\x00",
                    signature=b"\x00",
                    expiration_ms=0,
                    fee_limit=fee_limit or None,
                    status="broadcast",
                    created_at=now,
                    updated_at=now,
                )
            )


async def test_wallet_view_of_a_staking_wallet(
    client: httpx.AsyncClient, devnet: DevnetHandle, app: FastAPI
) -> None:
    receiver = addr(61)
    await _stake(
        devnet, "/wallet/freezebalancev2", {"frozen_balance": 10_000 * TRX, "resource": "ENERGY"}
    )
    await _stake(
        devnet, "/wallet/freezebalancev2", {"frozen_balance": 1_000 * TRX, "resource": "BANDWIDTH"}
    )
    await node_built(
        devnet.url,
        DEMO_KEY,
        "/wallet/createtransaction",
        {"to_address": receiver, "amount": TRX},
    )
    await produce_blocks(devnet.url, 1)
    await _stake(
        devnet,
        "/wallet/delegateresource",
        {
            "receiver_address": receiver,
            "balance": 500 * TRX,
            "resource": "ENERGY",
            "lock": True,
            "lock_period": 1_000,
        },
    )
    await _stake(
        devnet, "/wallet/unfreezebalancev2", {"unfreeze_balance": 100 * TRX, "resource": "ENERGY"}
    )

    body = await _wallet(client)
    account = await _devnet_account(devnet, DEMO_KEY.address)
    assert body["address"] == DEMO_KEY.address
    assert body["trx"] == format_amount(account["balance"])
    assert body["usdt"] == "10000000"
    assert body["trx_spendable"] == body["trx"]
    assert body["staked"] == {
        "energy": "9400",
        "bandwidth": "1000",
        "energy_delegated_out": "500",
        "bandwidth_delegated_out": "0",
        "energy_delegated_in": "0",
        "bandwidth_delegated_in": "0",
    }
    weight = 9_900  # TRX staked for energy chain-wide (delegated stake still counts)
    energy = body["energy"]
    assert energy["from_own_stake"] == 9_400 * TOTAL_ENERGY // weight
    assert energy["delegated_out"] == 500 * TOTAL_ENERGY // weight
    assert energy["delegated_in"] == 0
    assert energy["limit"] == energy["available"] == energy["from_own_stake"]
    assert energy["used"] == 0
    assert energy["recovered_by"] is None
    bandwidth = body["bandwidth"]
    assert bandwidth["free_limit"] == 600
    assert bandwidth["limit"] > 600
    assert bandwidth["used"] > 0  # the transactions above used free and staked bandwidth
    assert bandwidth["available"] == bandwidth["limit"] - bandwidth["used"]

    [pending] = body["unstaking"]["pending"]
    assert pending["resource"] == "ENERGY"
    assert pending["amount"] == "100"
    assert pending["withdrawable"] is False
    block_time = datetime.fromisoformat(body["block_time"])
    assert datetime.fromisoformat(pending["unlocks_at"]) == block_time + timedelta(days=14)
    assert body["unstaking"]["withdrawable"] == "0"
    assert body["unstaking"]["unstakes_left"] == 31
    [delegation] = body["delegations"]
    assert delegation["to"] == receiver
    assert delegation["resource"] == "ENERGY"
    assert delegation["amount"] == "500"
    assert datetime.fromisoformat(delegation["locked_until"]) > block_time
    assert body["prices"] == {"energy_sun": 100, "bandwidth_sun": 1000}
    assert body["in_flight"] == {"attempts": 0, "trx_held": "0", "usdt_held": "0"}

    new, old = body["runway"]["new_holder"], body["runway"]["existing_holder"]
    assert (new["energy_per_payout"], new["energy_source"]) == (130_285, "estimate")
    assert (old["energy_per_payout"], old["energy_source"]) == (64_285, "estimate")
    available = energy["available"]
    assert new["from_staked_energy"] == available // 130_285
    assert old["from_staked_energy"] == available // 64_285
    spendable = account["balance"]
    assert new["by_burning_trx"] == (spendable + available % 130_285 * 100) // (130_285 * 100)
    assert new["trx_burned_per_payout"] == "13.4485"  # 130,285 x 100 + 420 bytes x 1,000 sun
    assert new["total"] == new["from_staked_energy"] + new["by_burning_trx"]


async def test_used_energy_recovers_and_unstakes_unlock(
    client: httpx.AsyncClient, devnet: DevnetHandle
) -> None:
    await _stake(
        devnet, "/wallet/freezebalancev2", {"frozen_balance": 10_000 * TRX, "resource": "ENERGY"}
    )
    await _stake(
        devnet, "/wallet/unfreezebalancev2", {"unfreeze_balance": 10 * TRX, "resource": "ENERGY"}
    )
    await node_built(
        devnet.url,
        DEMO_KEY,
        "/wallet/triggersmartcontract",
        {
            "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "function_selector": "transfer(address,uint256)",
            "parameter": "00" * 12 + to_hex(addr(62))[2:] + (7).to_bytes(32, "big").hex(),
            "fee_limit": 30 * TRX,
        },
    )
    await produce_blocks(devnet.url, 1)
    body = await _wallet(client)
    assert body["energy"]["used"] == 130_285
    block_time = datetime.fromisoformat(body["block_time"])
    recovered_by = datetime.fromisoformat(body["energy"]["recovered_by"])
    assert block_time < recovered_by <= block_time + timedelta(days=1)

    await advance_time(devnet.url, 14 * 86_400)
    body = await _wallet(client)
    assert body["energy"]["used"] == 0
    assert body["energy"]["available"] == body["energy"]["limit"]
    assert body["unstaking"]["withdrawable"] == "10"
    assert body["unstaking"]["pending"][0]["withdrawable"] is True
    assert datetime.fromisoformat(body["block_time"]) > datetime.now(UTC) + timedelta(days=13)


async def test_in_flight_payouts_hold_back_trx_and_energy(
    client: httpx.AsyncClient, devnet: DevnetHandle, app: FastAPI
) -> None:
    await _stake(
        devnet, "/wallet/freezebalancev2", {"frozen_balance": 10_000 * TRX, "resource": "ENERGY"}
    )
    before = await _wallet(client)
    await _add_in_flight(app)
    after = await _wallet(client)
    assert after["in_flight"] == {"attempts": 2, "trx_held": "32", "usdt_held": "5"}
    assert after["trx"] == before["trx"]
    assert after["trx_spendable"] == format_amount(parse_amount(after["trx"]) - 32 * TRX)
    # the USDT attempt's 30 TRX fee_limit may still take 300,000 staked energy
    runway_energy = after["energy"]["available"] - 300_000
    assert after["runway"]["existing_holder"]["from_staked_energy"] == runway_energy // 64_285
    assert after["energy"]["available"] == before["energy"]["available"]


async def test_wallet_needs_the_wallet_read_scope(
    app: FastAPI, token: TokenFactory, client: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token('payouts:read')}"},
    ) as other:
        response = await other.get("/v1/wallet")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    anonymous = await client.get("/v1/wallet", headers={"Authorization": ""})
    assert anonymous.status_code == 401
