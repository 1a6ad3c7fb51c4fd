"""API fixtures: an app on the ``db_url`` database (SQLite and PostgreSQL), real JWTs minted
with the configured HS256 secret, and an httpx client over ASGITransport."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db.models import Base

ALL = "payouts:read payouts:write payouts:approve audit:read"
ADDR_A = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
ADDR_B = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
ADDR_C = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"

POLICY_TOML = """
[limits.USDT]
max_per_payout = "50000"
daily_total = "100000"
daily_per_destination = "60000"
approval_threshold = "10000"

[limits.TRX]
max_per_payout = "1000000"

[destinations]
deny = ["TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"]
"""

TokenFactory = Callable[..., str]


@pytest.fixture
def jwt_secret(tmp_path: Path) -> bytes:
    return secrets.token_hex(32).encode()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, jwt_secret: bytes) -> Settings:
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(jwt_secret)
    secret_file.chmod(0o600)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY_TOML)
    return Settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=db_url,
        jwt_hs256_secret_file=secret_file,
        policy_file=policy_file,
        hot_wallet_address=ADDR_B,
    )


@pytest.fixture
async def app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FastAPI]:
    for name in ("TRONPAY_POLICY_DENY_LIST", "TRONPAY_POLICY_ALLOW_LIST"):
        monkeypatch.delenv(name, raising=False)
    application = create_app(settings)
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def token(jwt_secret: bytes) -> TokenFactory:
    def make(sub: str = "alice", scopes: str = ALL, ttl_s: int = 600) -> str:
        return mint_token(jwt_secret, sub=sub, scopes=scopes.split(), ttl_s=ttl_s)

    return make


@pytest.fixture
async def client(app: FastAPI, token: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token()}"},
    ) as http:
        yield http


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tronpay.test"
    ) as http:
        yield http
