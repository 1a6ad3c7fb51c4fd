"""PostgreSQL pool: a connection idle for a while is pinged before use (a dead one is replaced
without the caller seeing an error); a busy connection is used without a ping (three round
trips saved on every checkout)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import tronpay.db.session as db_session

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


async def _pool_with_one_dead_connection(engine: AsyncEngine) -> None:
    """Leave two pooled connections, the first checked in dead (killed by the second)."""
    async with engine.connect() as victim:
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as killer:
            await victim.commit()
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_idle_dead_connection_is_replaced_before_use(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _pool_with_one_dead_connection(engine)
    monkeypatch.setattr(db_session, "POOL_PING_AFTER_IDLE_S", 0.0)
    for _ in range(3):
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1


async def test_recently_used_connection_is_not_pinged(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _pool_with_one_dead_connection(engine)
    monkeypatch.setattr(db_session, "POOL_PING_AFTER_IDLE_S", 3600.0)
    # Used moments ago, so not pinged: the dead one fails its statement once, the pool is
    # invalidated on that disconnect, and every later checkout gets a live connection.
    errors: list[DBAPIError] = []
    for _ in range(4):
        try:
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        except DBAPIError as exc:
            errors.append(exc)
    assert len(errors) == 1
    assert errors[0].connection_invalidated
