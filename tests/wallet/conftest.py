"""Wallet fixtures: a devnet over real HTTP (blocks on demand, a small energy pool so the
runway has readable numbers), an app on the ``db_url`` database pointed at it with the demo
wallet as hot wallet, an httpx client over ASGITransport with a ``wallet:read`` token (``admin``:
``wallet:admin`` too), and the engine's staking-operations step over the same database
(``engine_ctx``, ``runner``)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from node.support import DEMO_KEY, USDT_HEX
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db.models import Base
from tronpay.engine.context import EngineContext
from tronpay.engine.planner import Planner
from tronpay.signer.local import LocalSigner
from tronpay.tron.node import NodeClient
from tronpay.wallet.executor import OperationsRunner

from .support import CONFIG

TokenFactory = Callable[[str], str]


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    with run_devnet(block_time_s=0, solidify_depth=2, total_energy_limit=2_000_000) as handle:
        yield handle


@pytest.fixture
def jwt_secret() -> bytes:
    return secrets.token_hex(32).encode()


@pytest.fixture
async def app(
    tmp_path: Path, db_url: str, jwt_secret: bytes, devnet: DevnetHandle
) -> AsyncIterator[FastAPI]:
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(jwt_secret)
    secret_file.chmod(0o600)
    settings = Settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=db_url,
        jwt_hs256_secret_file=secret_file,
        node_urls=[devnet.url],
        hot_wallet_address=DEMO_KEY.address,
    )
    application = create_app(settings)
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def token(jwt_secret: bytes) -> TokenFactory:
    def make(scopes: str = "wallet:read") -> str:
        return mint_token(jwt_secret, sub="operator", scopes=scopes.split(), ttl_s=600)

    return make


@pytest.fixture
async def client(app: FastAPI, token: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token('wallet:read')}"},
    ) as http:
        yield http


@pytest.fixture
async def admin(app: FastAPI, token: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token('wallet:admin wallet:read')}"},
    ) as http:
        yield http


@pytest.fixture
async def engine_ctx(app: FastAPI, devnet: DevnetHandle) -> AsyncIterator[EngineContext]:
    async with NodeClient([devnet.url], timeout=httpx.Timeout(2.0, connect=1.0)) as node:
        signer = LocalSigner(DEMO_KEY)
        maker = app.state.sessionmaker
        yield EngineContext(
            sessionmaker=maker,
            node=node,
            planner=Planner(node, hot_wallet=signer.address, token_contract=USDT_HEX),
            signer=signer,
            token_contract=USDT_HEX,
            config=CONFIG,
            postgres=maker.kw["bind"].dialect.name == "postgresql",
        )


@pytest.fixture
def runner(engine_ctx: EngineContext) -> OperationsRunner:
    return OperationsRunner(engine_ctx)
