"""Helpers of the staking tests: queue an operation through the HTTP API, read it back, run
the engine's operations step until it is final, read the devnet's view of the hot wallet."""

from __future__ import annotations

from typing import Any

import httpx

from node.support import DEMO_KEY
from tron_devnet.testing import DevnetHandle, produce_blocks
from tronpay.engine.config import EngineConfig
from tronpay.kit.ids import new_id
from tronpay.tron.address import to_hex
from tronpay.wallet.executor import OperationsRunner

TRX = 1_000_000
CONFIG = EngineConfig(
    tx_expiration_s=5, expiry_margin_s=1, rebroadcast_interval_s=0.05, node_timeout_s=2.0
)
FINAL = ("finalized", "failed", "expired")


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={"Idempotency-Key": key})


async def queue_op(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await post(client, path, body, new_id("key"))
    assert response.status_code == 202, response.text
    op_id: str = response.json()["id"]
    return op_id


async def get_op(client: httpx.AsyncClient, op_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/wallet/operations/{op_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def settle(
    runner: OperationsRunner, devnet: DevnetHandle, client: httpx.AsyncClient, op_id: str
) -> dict[str, Any]:
    """Run the runner and produce blocks until the operation is final."""
    op: dict[str, Any] = {}
    for _ in range(12):
        await runner.step()
        op = await get_op(client, op_id)
        if op["status"] in FINAL:
            return op
        await produce_blocks(devnet.url, 1)
    raise AssertionError(f"operation {op_id} did not settle: {op}")


async def chain_account(devnet: DevnetHandle, address: str = DEMO_KEY.address) -> dict[str, Any]:
    """``/wallet/getaccount`` of an address, straight from the devnet."""
    async with httpx.AsyncClient(base_url=devnet.url) as http:
        body: dict[str, Any] = (
            await http.post("/wallet/getaccount", json={"address": to_hex(address)})
        ).json()
        return body


def frozen(account: dict[str, Any], kind: str) -> int:
    """Sun the account has staked for ``kind`` (``ENERGY``/``BANDWIDTH``) per ``frozenV2``."""
    return sum(
        int(item.get("amount", 0))
        for item in account.get("frozenV2") or []
        if item.get("type", "BANDWIDTH") == kind
    )
