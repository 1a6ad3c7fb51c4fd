"""An API app on a real database (SQLite and PostgreSQL) for the observability tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db.base import Base

HOT_WALLET = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
RECIPIENT = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
AppFactory = Callable[..., Any]


@pytest.fixture
def jwt_secret() -> bytes:
    return secrets.token_hex(32).encode()


@pytest.fixture
def make_settings(tmp_path: Path, db_url: str, jwt_secret: bytes) -> Callable[..., Settings]:
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(jwt_secret)
    secret_file.chmod(0o600)

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "development",
            "data_dir": tmp_path / "data",
            "database_url": db_url,
            "jwt_hs256_secret_file": secret_file,
            "hot_wallet_address": HOT_WALLET,
            # a node that is not there: scrapes and checks must cope
            "node_urls": ["http://127.0.0.1:9"],
            "metrics_db_refresh_s": 0,
            "metrics_chain_refresh_s": 0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def token(jwt_secret: bytes) -> Callable[..., str]:
    def make(*scopes: str) -> str:
        return mint_token(jwt_secret, sub="ops", scopes=list(scopes), ttl_s=600)

    return make


async def started(settings: Settings) -> FastAPI:
    app = create_app(settings)
    async with app.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return app


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    application = await started(make_settings())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI, token: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token('payouts:read', 'payouts:write')}"},
    ) as http:
        yield http
