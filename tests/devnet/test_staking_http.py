"""Stake 2.0 over HTTP: node-built staking transactions signed and broadcast, the staking reads
in both address forms, under /wallet and /walletsolidity, and admin time travel."""

from __future__ import annotations

from typing import Any

import httpx

from tron_devnet.core.crypto import hex_to_base58

from .support import addr, blocks, broadcast_hex, build_trc20, info, key, mint

DAY_S = 86_400
TRX = 1_000_000


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def _run(client: httpx.AsyncClient, path: str, body: dict[str, Any], signer: int) -> str:
    """Build through ``path``, sign with key(signer), broadcast, produce a block; the txid."""
    tx = await _post(client, path, body)
    assert "txID" in tx, tx
    result = await broadcast_hex(client, tx, key(signer))
    assert result["result"] is True, result
    await blocks(client, 1)
    txid: str = tx["txID"]
    return txid


async def _advance(client: httpx.AsyncClient, seconds: int) -> dict[str, Any]:
    return await _post(client, "/admin/time", {"advance_s": seconds})


async def test_unstake_wait_withdraw_and_cancel_with_time_travel(
    client: httpx.AsyncClient,
) -> None:
    owner = addr(21)
    await mint(client, owner, trx_sun=1_000 * TRX)
    await _run(
        client,
        "/wallet/freezebalancev2",
        {"owner_address": owner, "frozen_balance": 300 * TRX, "resource": "ENERGY"},
        21,
    )
    for amount in (100 * TRX, 50 * TRX):
        await _run(
            client,
            "/wallet/unfreezebalancev2",
            {"owner_address": owner, "unfreeze_balance": amount, "resource": "ENERGY"},
            21,
        )
    count = await _post(client, "/wallet/getavailableunfreezecount", {"owner_address": owner})
    assert count == {"count": 30}
    account = await _post(client, "/wallet/getaccount", {"address": owner})
    expiries = [u["unfreeze_expire_time"] for u in account["unfrozenV2"]]
    state = (await client.get("/admin/state")).json()
    now = state["head_timestamp"]
    assert all(now < t <= now + 14 * DAY_S * 1000 for t in expiries)
    nothing = await _post(
        client, "/wallet/getcanwithdrawunfreezeamount", {"owner_address": owner, "timestamp": now}
    )
    assert nothing == {}
    refused = await _post(client, "/wallet/withdrawexpireunfreeze", {"owner_address": owner})
    assert "no unFreeze balance to withdraw" in refused["Error"]

    moved = await _advance(client, 14 * DAY_S)
    assert moved["head_timestamp"] >= now + 14 * DAY_S * 1000
    withdrawable = await _post(
        client,
        "/wallet/getcanwithdrawunfreezeamount",
        {"owner_address": owner, "timestamp": moved["head_timestamp"]},
    )
    assert withdrawable == {"amount": 150 * TRX}
    txid = await _run(client, "/wallet/withdrawexpireunfreeze", {"owner_address": owner}, 21)
    assert (await info(client, txid))["withdraw_expire_amount"] == 150 * TRX

    await _run(
        client,
        "/wallet/unfreezebalancev2",
        {"owner_address": owner, "unfreeze_balance": 20 * TRX, "resource": "ENERGY"},
        21,
    )
    txid = await _run(client, "/wallet/cancelallunfreezev2", {"owner_address": owner}, 21)
    receipt = await info(client, txid)
    assert {"key": "ENERGY", "value": 20 * TRX} in receipt["cancel_unfreezeV2_amount"]
    account = await _post(client, "/wallet/getaccount", {"address": owner})
    assert "unfrozenV2" not in account
    assert account["frozenV2"][1] == {"type": "ENERGY", "amount": 150 * TRX}
    again = await _post(client, "/wallet/cancelallunfreezev2", {"owner_address": owner})
    assert "No unfreezeV2 list to cancel" in again["Error"]


async def test_locked_delegation_reads_and_unlock_after_time_travel(
    client: httpx.AsyncClient,
) -> None:
    owner, receiver = addr(22), addr(23)
    await mint(client, owner, trx_sun=1_000 * TRX)
    await mint(client, receiver, trx_sun=TRX)
    await _run(
        client,
        "/wallet/freezebalancev2",
        {"owner_address": owner, "frozen_balance": 500 * TRX, "resource": "ENERGY"},
        22,
    )
    max_size = await _post(
        client, "/wallet/getcandelegatedmaxsize", {"owner_address": owner, "type": 1}
    )
    assert max_size == {"max_size": 500 * TRX}
    await _run(
        client,
        "/wallet/delegateresource",
        {
            "owner_address": owner,
            "receiver_address": receiver,
            "balance": 200 * TRX,
            "resource": "ENERGY",
            "lock": True,
            "lock_period": 28_800,  # a day of 3 s blocks
        },
        22,
    )
    base58 = {"fromAddress": hex_to_base58(owner), "toAddress": hex_to_base58(receiver)}
    delegated = await _post(client, "/wallet/getdelegatedresourcev2", {**base58, "visible": True})
    [record] = delegated["delegatedResource"]
    assert record["from"] == hex_to_base58(owner)
    assert record["to"] == hex_to_base58(receiver)
    assert record["frozen_balance_for_energy"] == 200 * TRX
    assert record["expire_time_for_energy"] > 0
    index = await _post(
        client,
        "/wallet/getdelegatedresourceaccountindexv2",
        {"value": hex_to_base58(owner), "visible": True},
    )
    assert index == {"account": hex_to_base58(owner), "toAccounts": [hex_to_base58(receiver)]}
    # nothing is solid yet under /walletsolidity (solid = head - 3)
    solid = await _post(
        client,
        "/walletsolidity/getdelegatedresourcev2",
        {"fromAddress": owner, "toAddress": receiver},
    )
    assert solid == {}
    await blocks(client, 3)
    solid = await _post(
        client,
        "/walletsolidity/getdelegatedresourcev2",
        {"fromAddress": owner, "toAddress": receiver},
    )
    assert solid["delegatedResource"][0]["frozen_balance_for_energy"] == 200 * TRX

    resource = await _post(client, "/wallet/getaccountresource", {"address": receiver})
    assert resource["EnergyLimit"] > 0
    undelegate = {
        "owner_address": owner,
        "receiver_address": receiver,
        "balance": 200 * TRX,
        "resource": "ENERGY",
    }
    locked = await _post(client, "/wallet/undelegateresource", undelegate)
    assert "unlock_balance=0" in locked["Error"]
    await _advance(client, DAY_S + 60)
    await _run(client, "/wallet/undelegateresource", undelegate, 22)
    assert await _post(client, "/wallet/getdelegatedresourcev2", base58 | {"visible": True}) == {}
    assert await _post(client, "/wallet/getaccountresource", {"address": receiver}) == {
        "freeNetLimit": 600,
        "TotalNetLimit": 43_200_000_000,
        "TotalEnergyLimit": 180_000_000_000,
        "TotalEnergyWeight": 500,
    }


async def test_staked_energy_pays_the_transfer_then_recovers_in_24h(
    client: httpx.AsyncClient,
) -> None:
    owner = addr(24)
    await mint(client, owner, trx_sun=100_000 * TRX, usdt_units=10 * TRX)
    await _run(
        client,
        "/wallet/freezebalancev2",
        {"owner_address": owner, "frozen_balance": 10_000 * TRX, "resource": "ENERGY"},
        24,
    )
    tx = await build_trc20(client, owner, addr(25), TRX)
    assert (await broadcast_hex(client, tx, key(24)))["result"] is True
    await blocks(client, 1)
    receipt = (await info(client, tx["txID"]))["receipt"]
    assert receipt["energy_usage"] == receipt["energy_usage_total"] == 130_285
    assert "energy_fee" not in receipt
    used = (await _post(client, "/wallet/getaccountresource", {"address": owner}))["EnergyUsed"]
    assert used == 130_285
    await _advance(client, DAY_S // 4)
    used = (await _post(client, "/wallet/getaccountresource", {"address": owner}))["EnergyUsed"]
    assert 97_700 < used < 97_730  # three quarters of the window are still to recover
    await _advance(client, DAY_S)
    resource = await _post(client, "/wallet/getaccountresource", {"address": owner})
    assert "EnergyUsed" not in resource


async def test_reads_refuse_bad_input(client: httpx.AsyncClient) -> None:
    owner = addr(26)
    await mint(client, owner, trx_sun=10 * TRX)
    bad_type = await _post(
        client, "/wallet/getcandelegatedmaxsize", {"owner_address": owner, "type": 2}
    )
    assert "Only support BANDWIDTH and ENERGY" in bad_type["Error"]
    bad_ts = await _post(
        client, "/wallet/getcanwithdrawunfreezeamount", {"owner_address": owner, "timestamp": -1}
    )
    assert "Error" in bad_ts
    missing = await _post(client, "/wallet/getdelegatedresourcev2", {"fromAddress": owner})
    assert "toAddress is required" in missing["Error"]
    unknown = await _post(client, "/wallet/getavailableunfreezecount", {"owner_address": addr(27)})
    assert unknown == {}


async def test_admin_time_refuses_bad_input(client: httpx.AsyncClient) -> None:
    for body in ({}, {"advance_s": 0}, {"advance_s": 1.5}, {"advance_s": 1, "advance_ms": 1}):
        response = await client.post("/admin/time", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "bad_request"
    response = await client.post("/admin/time", json={"advance_s": 400 * DAY_S})
    assert response.status_code == 400
    before = (await client.get("/admin/state")).json()
    moved = await _advance(client, 1)
    assert moved["head"] == before["head"] + 1
    assert moved["head_timestamp"] >= before["head_timestamp"] + 3000  # at least one interval
