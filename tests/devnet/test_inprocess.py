"""The app without a socket (httpx.ASGITransport) and the package's import boundary."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from starlette.applications import Starlette

from tron_devnet.core.chain import Chain
from tron_devnet.faults import FaultPlan, FaultRule
from tron_devnet.genesis import default_genesis
from tron_devnet.server import ResponseLost, create_app

from .support import DEMO_HEX, DEMO_KEY, addr, build_trx, signed_hex


def _app(faults: FaultPlan | None = None) -> Starlette:
    genesis = default_genesis()
    chain = Chain(genesis.config, list(genesis.accounts))
    return create_app(chain, block_time_s=0, faults=faults)


async def test_asgi_transport_serves_the_api() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://devnet") as client:
        account = (await client.post("/wallet/getaccount", json={"address": DEMO_HEX})).json()
        assert account["balance"] == 1_000_000 * 10**6
        assert (await client.post("/admin/blocks", json={"count": 2})).json()["head"] == 2
        tx = await build_trx(client, DEMO_HEX, addr(1), 10)
        result = (
            await client.post(
                "/wallet/broadcasthex", json={"transaction": signed_hex(tx, DEMO_KEY)}
            )
        ).json()
        assert result["result"] is True


async def test_lose_response_without_a_socket_raises() -> None:
    plan = FaultPlan([FaultRule(path="/wallet/broadcasthex", mode="lose_response")])
    app = _app(plan)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://devnet") as client:
        await client.post("/admin/blocks", json={"count": 1})
        tx = await build_trx(client, DEMO_HEX, addr(2), 10)
        with pytest.raises(ResponseLost):
            await client.post(
                "/wallet/broadcasthex", json={"transaction": signed_hex(tx, DEMO_KEY)}
            )
        await client.post("/admin/blocks", json={"count": 1})
        info = (
            await client.post("/wallet/gettransactioninfobyid", json={"value": tx["txID"]})
        ).json()
        assert info["id"] == tx["txID"]


def test_server_side_never_imports_tronpay() -> None:
    code = (
        "import sys\n"
        "import tron_devnet.cli, tron_devnet.server, tron_devnet.testing, tron_devnet.admin\n"
        "import tron_devnet.faults, tron_devnet.genesis, tron_devnet.persistence\n"
        "import tron_devnet.views, tron_devnet.wallet_api\n"
        "bad = sorted(m for m in sys.modules if m == 'tronpay' or m.startswith('tronpay.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
