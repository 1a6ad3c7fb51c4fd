"""The /admin/* control endpoints."""

from __future__ import annotations

import httpx
import pytest

from tron_devnet.core.crypto import hex_to_base58

from .support import (
    DEMO_HEX,
    DEMO_KEY,
    USDT_HEX,
    addr,
    blocks,
    broadcast_hex,
    build_trx,
    trx_balance,
    usdt_balance,
)


async def test_mint_accepts_base58_and_hex(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/mint", json={"address": hex_to_base58(addr(1)), "trx_sun": 5, "usdt_units": 7}
    )
    assert response.status_code == 200
    assert response.json()["address"] == addr(1)
    await client.post("/admin/mint", json={"address": addr(1), "trx_sun": 5})
    assert await trx_balance(client, addr(1)) == 10
    assert await usdt_balance(client, addr(1)) == 7


@pytest.mark.parametrize(
    "body",
    [
        {"address": DEMO_HEX, "trx_sun": 1.5},
        {"address": DEMO_HEX, "trx_sun": -1},
        {"address": DEMO_HEX, "usdt_units": True},
        {"address": DEMO_HEX, "usdt_units": "10"},
        {"address": "Tnope", "trx_sun": 1},
        {"trx_sun": 1},
    ],
)
async def test_mint_rejects_bad_input_with_400(client: httpx.AsyncClient, body: dict) -> None:
    response = await client.post("/admin/mint", json=body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert response.json()["message"]


async def test_mint_rejects_invalid_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/mint", content=b"{oops")
    assert response.status_code == 400


async def test_blocks_produce_now(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/blocks", json={"count": 4})
    body = response.json()
    assert body["head"] == 4
    assert body["solidified"] == 1
    assert len(body["blocks"]) == 4
    assert (await client.post("/admin/blocks", json={})).json()["head"] == 5
    for bad in ({"count": 0}, {"count": 2.0}, {"count": "3"}, {"count": 10**6}):
        assert (await client.post("/admin/blocks", json=bad)).status_code == 400


async def test_ledger_lists_transfers(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    tx = await build_trx(client, DEMO_HEX, addr(2), 123)
    await broadcast_hex(client, tx, DEMO_KEY)
    await blocks(client, 1)
    ledger = (await client.get("/admin/ledger")).json()
    entry = next(t for t in ledger["transactions"] if t["txid"] == tx["txID"])
    assert entry["asset"] == "TRX"
    assert entry["amount"] == 123
    assert entry["to"] in (addr(2), hex_to_base58(addr(2)))
    accounts = {a["address"]: a for a in ledger["accounts"]}
    assert accounts[DEMO_HEX]["usdt_units"] == 10_000_000 * 10**6


async def test_faults_set_get_clear(client: httpx.AsyncClient) -> None:
    rules = [{"path": "/wallet/getnowblock", "mode": "http_502", "probability": 1}]
    response = await client.post("/admin/faults", json={"seed": 5, "rules": rules})
    assert response.status_code == 200
    current = (await client.get("/admin/faults")).json()
    assert current["seed"] == 5
    assert current["rules"][0]["mode"] == "http_502"
    assert (await client.post("/wallet/getnowblock")).status_code == 502
    assert (await client.delete("/admin/faults")).json()["rules"] == []
    assert (await client.post("/wallet/getnowblock")).status_code == 200
    everything = [{"path": "/*", "mode": "http_500"}]
    await client.post("/admin/faults", json={"rules": everything})
    assert (await client.post("/wallet/getnodeinfo")).status_code == 500
    assert (await client.get("/admin/faults")).status_code == 200  # admin is never faulted
    assert (await client.delete("/admin/faults")).status_code == 200
    assert (await client.post("/wallet/getnodeinfo")).status_code == 200
    bad = await client.post("/admin/faults", json={"rules": [{"path": "/x", "mode": "nope"}]})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_faults"


async def test_blacklist_blocks_token_transfers(client: httpx.AsyncClient) -> None:
    await client.post("/admin/mint", json={"address": addr(3), "trx_sun": 100_000_000})
    await client.post("/admin/mint", json={"address": addr(3), "usdt_units": 1_000})
    response = await client.post("/admin/blacklist", json={"address": hex_to_base58(addr(3))})
    assert response.json() == {"address": addr(3), "listed": True}
    listed = (
        await client.post(
            "/wallet/triggerconstantcontract",
            json={
                "contract_address": USDT_HEX,
                "function_selector": "isBlackListed(address)",
                "parameter": "00" * 12 + addr(3)[2:],
                "owner_address": DEMO_HEX,
            },
        )
    ).json()
    assert int(listed["constant_result"][0], 16) == 1
    assert (
        await client.post("/admin/blacklist", json={"address": addr(3), "listed": 1})
    ).status_code == 400


async def test_reset_returns_to_genesis(client: httpx.AsyncClient) -> None:
    await blocks(client, 3)
    await client.post("/admin/mint", json={"address": addr(4), "trx_sun": 99})
    await client.post("/admin/faults", json={"rules": [{"path": "/nope", "mode": "hang"}]})
    body = (await client.post("/admin/reset")).json()
    assert body["head"] == 0
    assert await trx_balance(client, addr(4)) == 0
    assert await trx_balance(client, DEMO_HEX) == 1_000_000 * 10**6
    assert (await client.get("/admin/faults")).json()["rules"] == []


async def test_state_summary(client: httpx.AsyncClient) -> None:
    await blocks(client, 2)
    state = (await client.get("/admin/state")).json()
    assert state["head"] == 2
    assert state["token"]["address"] == USDT_HEX
    assert state["token"]["decimals"] == 6
    assert state["block_time_s"] == 0
    assert "faults" in state


async def test_admin_unknown_path_and_method(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/nothing")).status_code == 404
    assert (await client.get("/admin/mint")).status_code == 405
