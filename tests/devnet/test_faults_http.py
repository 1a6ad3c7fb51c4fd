"""Every fault mode over real HTTP against a running devnet."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tron_devnet.testing import run_devnet

from .support import (
    DEMO_HEX,
    DEMO_KEY,
    addr,
    blocks,
    broadcast_hex,
    build_trc20,
    build_trx,
    info,
    sign,
    signed_hex,
    usdt_balance,
)


async def set_faults(client: httpx.AsyncClient, rules: list[dict[str, Any]], seed: int = 1) -> None:
    response = await client.post("/admin/faults", json={"seed": seed, "rules": rules})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("mode", "status"), [("http_500", 500), ("http_502", 502)])
async def test_http_errors_then_recovery(client: httpx.AsyncClient, mode: str, status: int) -> None:
    await set_faults(client, [{"path": "/wallet/getnodeinfo", "mode": mode, "count": 2}])
    assert (await client.post("/wallet/getnodeinfo")).status_code == status
    assert (await client.get("/wallet/getnodeinfo")).status_code == status
    assert (await client.post("/wallet/getnodeinfo")).status_code == 200
    # other endpoints are untouched
    assert (await client.post("/wallet/getnowblock")).status_code == 200
    faults = (await client.get("/admin/faults")).json()
    assert faults["fired"] == {mode: 2}
    assert faults["rules"][0]["count"] == 0


async def test_hang_outlasts_a_client_timeout(client: httpx.AsyncClient) -> None:
    await set_faults(client, [{"path": "/wallet/getnowblock", "mode": "hang", "seconds": 1.0}])
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/wallet/getnowblock", timeout=0.3)
    started = time.monotonic()
    response = await client.post("/wallet/getnowblock", timeout=5.0)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.9


async def test_server_busy_rejects_without_accepting(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    await set_faults(client, [{"path": "/wallet/broadcasthex", "mode": "server_busy", "count": 1}])
    tx = await build_trx(client, DEMO_HEX, addr(1), 1_000)
    busy = await broadcast_hex(client, tx, DEMO_KEY)
    assert busy["result"] is False
    assert busy["code"] == "SERVER_BUSY"
    assert busy["txid"] == tx["txID"]
    await blocks(client, 2)
    assert await info(client, tx["txID"]) == {}
    # the same bytes go through once the node is no longer busy
    again = await broadcast_hex(client, tx, DEMO_KEY)
    assert again["result"] is True


async def test_server_busy_on_broadcasttransaction(client: httpx.AsyncClient) -> None:
    await set_faults(client, [{"path": "/wallet/broadcast*", "mode": "server_busy"}])
    tx = await build_trx(client, DEMO_HEX, addr(1), 1_000)
    body = {"raw_data": tx["raw_data"], "signature": [sign(tx["txID"], DEMO_KEY)]}
    busy = (await client.post("/wallet/broadcasttransaction", json=body)).json()
    assert busy["code"] == "SERVER_BUSY"
    assert bytes.fromhex(busy["message"]).decode() == "Server busy."


async def test_never_include_accepts_but_never_mines(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    await set_faults(client, [{"path": "/wallet/broadcasthex", "mode": "never_include"}])
    tx = await build_trx(client, DEMO_HEX, addr(1), 1_000)
    assert (await broadcast_hex(client, tx, DEMO_KEY))["result"] is True
    await blocks(client, 5)
    assert await info(client, tx["txID"]) == {}
    assert (
        await client.post("/wallet/gettransactionbyid", json={"value": tx["txID"]})
    ).json() == {}


async def test_lose_response_drops_connection_after_accepting(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    await set_faults(
        client, [{"path": "/wallet/broadcasthex", "mode": "lose_response", "count": 1}]
    )
    tx = await build_trx(client, DEMO_HEX, addr(2), 7_000)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/wallet/broadcasthex", json={"transaction": signed_hex(tx, DEMO_KEY)})
    await blocks(client, 1)
    landed = await info(client, tx["txID"])
    assert landed["id"] == tx["txID"]
    # a rebroadcast of the same bytes is a duplicate, as on a real node
    again = await broadcast_hex(client, tx, DEMO_KEY)
    assert again["code"] == "DUP_TRANSACTION_ERROR"


async def test_delay_blocks_holds_inclusion(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    await set_faults(
        client, [{"path": "/wallet/broadcasthex", "mode": "delay_blocks", "blocks": 3, "count": 1}]
    )
    tx = await build_trx(client, DEMO_HEX, addr(3), 9_000)
    assert (await broadcast_hex(client, tx, DEMO_KEY))["result"] is True
    await blocks(client, 2)
    assert await info(client, tx["txID"]) == {}
    await blocks(client, 2)
    landed = await info(client, tx["txID"])
    assert landed["id"] == tx["txID"]
    assert landed["blockNumber"] >= 4


async def test_revert_next_reverts_only_trc20_transfers(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    await set_faults(client, [{"path": "/wallet/broadcast*", "mode": "revert_next", "count": 1}])
    trx = await build_trx(client, DEMO_HEX, addr(4), 1_000)
    assert (await broadcast_hex(client, trx, DEMO_KEY))["result"] is True
    first = await build_trc20(client, DEMO_HEX, addr(4), 11)
    assert (await broadcast_hex(client, first, DEMO_KEY))["result"] is True
    second = await build_trc20(client, DEMO_HEX, addr(4), 13)
    assert (await broadcast_hex(client, second, DEMO_KEY))["result"] is True
    await blocks(client, 1)
    assert "receipt" in await info(client, trx["txID"])
    reverted = await info(client, first["txID"])
    assert reverted["receipt"]["result"] == "REVERT"
    assert reverted["result"] == "FAILED"
    assert reverted["fee"] > 0  # the fee is burned anyway
    ok = await info(client, second["txID"])
    assert ok["receipt"]["result"] == "SUCCESS"
    assert await usdt_balance(client, addr(4)) == 13
    assert (await client.get("/admin/faults")).json()["fired"] == {"revert_next": 1}


def _pattern(seed: int) -> list[int]:
    rules = [{"path": "/wallet/getnowblock", "mode": "http_500", "probability": 0.5}]
    with run_devnet(block_time_s=0) as devnet, httpx.Client(base_url=devnet.url) as http:
        http.post("/admin/faults", json={"seed": seed, "rules": rules}).raise_for_status()
        return [http.post("/wallet/getnowblock").status_code for _ in range(40)]


def test_faults_are_deterministic_for_a_seed() -> None:
    first = _pattern(42)
    assert first == _pattern(42)
    assert first != _pattern(43)
    assert 500 in first
    assert 200 in first


async def test_revert_next_is_not_used_up_by_a_pending_rebroadcast(
    client: httpx.AsyncClient,
) -> None:
    """A pending transfer broadcast again keeps its first outcome; the next new transfer is
    the one that reverts."""
    await blocks(client, 1)
    first = await build_trc20(client, DEMO_HEX, addr(6), 5)
    assert (await broadcast_hex(client, first, DEMO_KEY))["result"] is True
    await set_faults(client, [{"path": "/wallet/broadcast*", "mode": "revert_next", "count": 1}])
    assert (await broadcast_hex(client, first, DEMO_KEY))["result"] is True  # still pending
    second = await build_trc20(client, DEMO_HEX, addr(6), 7)
    assert (await broadcast_hex(client, second, DEMO_KEY))["result"] is True
    await blocks(client, 1)
    assert (await info(client, first["txID"]))["receipt"]["result"] == "SUCCESS"
    assert (await info(client, second["txID"]))["receipt"]["result"] == "REVERT"
    assert (await client.get("/admin/faults")).json()["fired"] == {"revert_next": 1}
