"""Shared database fixtures (owned by the store engineer; every suite may use them).

- ``db_url``: parametrized over ``sqlite`` (a file in tmp_path) and ``postgres`` (a fresh
  throw-away database on ``TRONPAY_TEST_POSTGRES_URL``, default
  ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``). When PostgreSQL is unreachable the
  postgres case is skipped, unless ``TRONPAY_REQUIRE_POSTGRES=1``, which makes it fail.
- ``engine``: an AsyncEngine on ``db_url`` with every table created from ``Base.metadata``.
- ``sessionmaker``: ``async_sessionmaker`` bound to ``engine`` (expire_on_commit=False).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tronpay.db.models import Base
from tronpay.db.session import create_engine, create_sessionmaker

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("TRONPAY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


@asynccontextmanager
async def throwaway_postgres(prefix: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database on ``TRONPAY_TEST_POSTGRES_URL`` (its SQLAlchemy URL),
    dropped afterwards. Unreachable: the test is skipped, or fails under
    ``TRONPAY_REQUIRE_POSTGRES=1``."""
    base = postgres_base_url()
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(base), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("TRONPAY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {base}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {base}: {exc}")
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'tronpay.db'}"
        return
    async with throwaway_postgres("tronpay_t") as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    async with eng.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
