"""``tronpay.db.session.bulk_insert``: the PostgreSQL unnest path stores exactly what a Core
executemany stores (JSON, JSON null, aware datetimes, NULLs), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import (
    BULK_COPY_MIN_ROWS,
    BULK_UNNEST_MIN_ROWS,
    bulk_insert,
    insert_new,
    one_of,
    write_transaction,
)
from tronpay.payouts.models import Payout

PAYOUTS: Table = Payout.__table__  # type: ignore[assignment]
T0 = datetime(2026, 11, 28, 21, 0, 0, 123456, tzinfo=UTC)


def rows(prefix: str, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        created = T0 + timedelta(seconds=i)
        if i % 2:  # another offset: stored as the same instant in UTC
            created = created.astimezone(timezone(timedelta(hours=5)))
        out.append(
            {
                "id": f"{prefix}_{i:04d}",
                "client": "alice",
                "reference": None if i % 3 == 0 else f"{prefix}-ref-{i}",
                "to_address": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
                "asset": "USDT",
                "amount": 10**18 + i,
                "memo": "ünïcode ✓" if i % 5 == 0 else None,
                "metadata": None if i % 4 == 0 else {"n": i, "nested": {"k": [1, "two", None]}},
                "status": "queued",
                "created_by": "alice",
                "idempotency_key": None,
                "created_at": created,
                "updated_at": created,
                "attempt_count": 0,
                "version": 1,
            }
        )
    return out


@pytest.mark.parametrize("count", [3, BULK_COPY_MIN_ROWS + 5, 600])
async def test_bulk_insert_round_trips_like_executemany(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> None:
    bulk, plain = rows("bulk", count), rows("plain", count)
    async with write_transaction(sessionmaker) as session:
        connection = await session.connection()
        await bulk_insert(connection, PAYOUTS, bulk)
        await connection.execute(PAYOUTS.insert(), plain)
    async with sessionmaker() as session:
        stored = {
            row.id: row._mapping
            for row in await session.execute(select(PAYOUTS).order_by(PAYOUTS.c.id))
        }
        json_nulls = (
            await session.execute(
                select(PAYOUTS.c.id).where(PAYOUTS.c.metadata.is_(None)).order_by(PAYOUTS.c.id)
            )
        ).scalars()
    assert len(stored) == 2 * count
    for mine, theirs in zip(bulk, plain, strict=True):
        a, b = stored[mine["id"]], stored[theirs["id"]]
        for column in mine:
            if column in ("id", "reference"):
                continue
            assert a[column] == b[column] == mine[column], column
        assert a["created_at"].tzinfo is not None
        assert a["created_at"] == mine["created_at"]
    # None in a JSON column is JSON null (not SQL NULL) on both paths: nothing is SQL NULL.
    assert list(json_nulls) == []


@pytest.mark.parametrize("count", [4, BULK_UNNEST_MIN_ROWS + 5])
async def test_insert_new_skips_conflicts_and_returns_what_it_inserted(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> None:
    data = rows("new", count)
    earlier = data[::2]
    # Conflicts on two unique indexes: the primary key (rows inserted before) and
    # (tenant, reference) under a fresh id.
    used = next(r for r in earlier if r["reference"] is not None)
    clash = dict(used, id="new_clash")
    async with write_transaction(sessionmaker) as session:
        connection = await session.connection()
        assert await insert_new(connection, PAYOUTS, earlier, ["id"]) == {
            (r["id"],) for r in earlier
        }
        returned = await insert_new(connection, PAYOUTS, [*data, clash], ["id", "reference"])
    assert returned == {(r["id"], r["reference"]) for r in data[1::2]}
    async with sessionmaker() as session:
        stored = set((await session.execute(select(PAYOUTS.c.id))).scalars())
    assert stored == {r["id"] for r in data}


async def test_one_of_matches_like_in(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    data = rows("one", 30)
    async with write_transaction(sessionmaker) as session:
        connection = await session.connection()
        await bulk_insert(connection, PAYOUTS, data)
        dialect = connection.dialect.name
        for size in (1, 2, 7, 7, 7, 7, 7, 7, 7, 30):  # the same length again: a cached plan
            wanted = [r["id"] for r in data[:size]] + ["absent"]
            found = await connection.execute(
                select(PAYOUTS.c.id).where(one_of(PAYOUTS.c.id, wanted, dialect))
            )
            assert set(found.scalars()) == set(wanted[:-1])
        none = await connection.execute(
            select(PAYOUTS.c.id).where(one_of(PAYOUTS.c.id, [], dialect))
        )
        assert list(none) == []


@pytest.mark.parametrize("count", [3, BULK_COPY_MIN_ROWS + 5])
async def test_bulk_insert_conflict_is_an_integrity_error_and_rolls_back(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> None:
    data = rows("dup", count)
    data[-1] = dict(data[-1], id=data[0]["id"])  # the last row repeats the first one's id
    with pytest.raises(IntegrityError):
        async with write_transaction(sessionmaker) as session:
            await bulk_insert(await session.connection(), PAYOUTS, data)
    async with sessionmaker() as session:
        assert list(await session.execute(select(PAYOUTS.c.id))) == []


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite keeps long text
@pytest.mark.parametrize("count", [3, BULK_COPY_MIN_ROWS + 5])
async def test_bulk_insert_bad_value_is_a_dbapi_error_and_rolls_back(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> None:
    data = rows("long", count)
    data[-1] = dict(data[-1], status="x" * 500)  # longer than the column allows
    with pytest.raises(DBAPIError):
        async with write_transaction(sessionmaker) as session:
            await bulk_insert(await session.connection(), PAYOUTS, data)
    async with sessionmaker() as session:
        assert list(await session.execute(select(PAYOUTS.c.id))) == []
