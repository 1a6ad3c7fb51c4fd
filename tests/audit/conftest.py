"""The real app (STORE's create_app) on the ``db_url`` database, for the audit endpoint."""

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

ADDR_A = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
HOT_WALLET = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"

TokenFactory = Callable[[str, str], str]


@pytest.fixture
async def real_app(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FastAPI, TokenFactory]]:
    for name in ("TRONPAY_POLICY_DENY_LIST", "TRONPAY_POLICY_ALLOW_LIST"):
        monkeypatch.delenv(name, raising=False)
    secret = secrets.token_hex(32).encode()
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(secret)
    secret_file.chmod(0o600)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[limits.USDT]\napproval_threshold = "100"\n')
    settings = Settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=db_url,
        jwt_hs256_secret_file=secret_file,
        policy_file=policy_file,
        hot_wallet_address=HOT_WALLET,
    )
    application = create_app(settings)
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)

    def token(sub: str, scopes: str) -> str:
        return mint_token(secret, sub=sub, scopes=scopes.split(), ttl_s=600)

    async with application.router.lifespan_context(application):
        yield application, token


@pytest.fixture
async def http(real_app: tuple[FastAPI, TokenFactory]) -> AsyncIterator[httpx.AsyncClient]:
    application, _ = real_app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://tronpay.test"
    ) as client:
        yield client
