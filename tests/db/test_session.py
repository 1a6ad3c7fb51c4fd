"""The session discipline on a real database: commit/rollback at the edge, and concurrent
write transactions on SQLite never fail with "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tronpay.db.session import create_engine, read_transaction, write_transaction


async def _make_counter(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        await conn.execute(text("INSERT INTO counter (id, n) VALUES (1, 0)"))


async def test_concurrent_read_modify_write_loses_nothing(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _make_counter(engine)

    async def bump() -> None:
        async with write_transaction(sessionmaker) as session:
            query = "SELECT n FROM counter WHERE id = 1"
            if engine.dialect.name == "postgresql":
                query += " FOR UPDATE"
            n = (await session.execute(text(query))).scalar_one()
            await asyncio.sleep(0)
            await session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    await asyncio.gather(*(bump() for _ in range(40)))
    async with read_transaction(sessionmaker) as session:
        assert (await session.execute(text("SELECT n FROM counter"))).scalar() == 40


async def test_write_transaction_rolls_back_on_error(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _make_counter(engine)

    async def fail() -> None:
        async with write_transaction(sessionmaker) as session:
            await session.execute(text("UPDATE counter SET n = 99 WHERE id = 1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail()
    async with read_transaction(sessionmaker) as session:
        assert (await session.execute(text("SELECT n FROM counter"))).scalar() == 0


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        await engine.dispose()
