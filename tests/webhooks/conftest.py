"""Webhook fixtures: an app on the ``db_url`` database (SQLite and PostgreSQL) that allows
private destinations, a client with the ``webhooks:admin`` scope, a real receiver on
127.0.0.1 and a worker configuration with short timings."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.webhooks.receiver import Receiver, running_receiver

from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db.models import Base
from tronpay.webhooks.worker import WorkerConfig

SCOPES = "payouts:read payouts:write payouts:approve webhooks:admin"
ADDR_A = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
ADDR_B = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


@pytest.fixture
def jwt_secret() -> bytes:
    return secrets.token_hex(32).encode()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, jwt_secret: bytes) -> Settings:
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(jwt_secret)
    secret_file.chmod(0o600)
    return Settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=db_url,
        jwt_hs256_secret_file=secret_file,
        hot_wallet_address=ADDR_B,
        webhook_allow_private=True,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return sessionmaker


@pytest.fixture
async def client(app: FastAPI, jwt_secret: bytes) -> AsyncIterator[httpx.AsyncClient]:
    token = mint_token(jwt_secret, sub="alice", scopes=SCOPES.split(), ttl_s=600)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield http


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def config() -> WorkerConfig:
    return WorkerConfig(
        timeout_s=2.0,
        retry_base_s=0.05,
        retry_max_s=0.2,
        retry_for=timedelta(hours=25),
        poll_s=0.05,
        concurrency=8,
        allow_private=True,
        allow_http=True,
    )


@pytest.fixture
async def tenant_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The service with tenants taken from the token's ``org`` claim."""
    application = create_app(settings.model_copy(update={"jwt_tenant_claim": "org"}))
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with application.router.lifespan_context(application):
        yield application


def tenant_client(app: FastAPI, secret: bytes, tenant: str) -> httpx.AsyncClient:
    """A client of ``app`` acting in ``tenant`` (the ``org`` claim of ``tenant_app``)."""
    token = mint_token(
        secret, sub=f"ops-{tenant}", scopes=SCOPES.split(), extra_claims={"org": tenant}
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token}"},
    )
