"""The hash chain against real SQLite and PostgreSQL: verification and tamper detection."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tronpay.audit import AuditRecord, chain_head, record, record_many, verify_chain
from tronpay.audit.models import (
    POSTGRES_APPEND_ONLY_SQL,
    SQLITE_APPEND_ONLY_SQL,
    AuditEntry,
)
from tronpay.db.session import read_transaction, write_transaction

Maker = async_sessionmaker[AsyncSession]


async def write_entries(sessionmaker: Maker, count: int, *, start: int = 0) -> None:
    for index in range(start, start + count):
        async with write_transaction(sessionmaker) as session:
            await record(
                session,
                action="payout.create",
                principal="alice",
                request_id=f"req-{index}",
                entity_type="payout",
                entity_id=f"po_{index}",
                before=None if index % 2 else {"status": "queued"},
                after={
                    "status": "pending_approval",
                    "amount": "12.500001",
                    "memo": "caf\u00e9 \u2713",
                    "at": datetime(2026, 1, 1, tzinfo=UTC),
                    "fee": Decimal("0.1"),
                    "n": index,
                },
            )


async def verify(sessionmaker: Maker):  # type: ignore[no-untyped-def]
    async with read_transaction(sessionmaker) as session:
        return await verify_chain(session)


async def raw(sessionmaker: Maker, *statements: str) -> None:
    async with write_transaction(sessionmaker) as session:
        for statement in statements:
            await session.execute(text(statement))


async def test_empty_chain_verifies(sessionmaker: Maker) -> None:
    result = await verify(sessionmaker)
    assert (result.ok, result.checked, result.first_broken) == (True, 0, None)


async def test_chain_verifies(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 12)
    result = await verify(sessionmaker)
    assert result.ok, result.reason
    assert result.checked == 12
    async with read_transaction(sessionmaker) as session:
        entries = list(
            (await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars()
        )
        seq, head_hash = await chain_head(session)
        assert [e.seq for e in entries] == list(range(1, 13))
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
        assert (seq, head_hash) == (12, entries[-1].hash)
        assert entries[0].after is not None
        assert entries[0].after["at"] == "2026-01-01T00:00:00.000000Z"
        assert entries[0].after["fee"] == "0.1"
        assert entries[0].after["memo"] == "caf\u00e9 \u2713"


async def test_small_page_size_walks_the_whole_chain(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 7)
    async with read_transaction(sessionmaker) as session:
        result = await verify_chain(session, page_size=2)
    assert (result.ok, result.checked) == (True, 7)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET principal = 'mallory' WHERE seq = 5",
        'UPDATE audit_entries SET after = \'{"status": "cancelled"}\' WHERE seq = 5',
        "UPDATE audit_entries SET hash = prev_hash WHERE seq = 5",
        "UPDATE audit_entries SET request_id = NULL WHERE seq = 5",
    ],
)
async def test_edited_row_is_found(sessionmaker: Maker, statement: str) -> None:
    await write_entries(sessionmaker, 8)
    await raw(sessionmaker, statement)
    result = await verify(sessionmaker)
    assert not result.ok
    assert result.first_broken == 5
    assert result.checked == 4
    assert result.reason is not None


async def test_edited_row_with_recomputed_hash_breaks_the_next_link(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 8)
    # Flip the first hex digit (a fixed 'f' would be no change for 1 hash in 16).
    await raw(
        sessionmaker,
        "UPDATE audit_entries SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END"
        " || substr(hash, 2) WHERE seq = 5",
    )
    result = await verify(sessionmaker)
    assert result.first_broken == 5
    # Even a forger who rewrites entry 5 consistently cannot hide it: entry 6 no longer links.
    async with write_transaction(sessionmaker) as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.seq == 5))).scalar_one()
        forged = entry.hash
    async with write_transaction(sessionmaker) as session:
        await session.execute(
            text("UPDATE audit_entries SET prev_hash = :forged WHERE seq = 6"), {"forged": forged}
        )
    result = await verify(sessionmaker)
    assert result.first_broken == 5  # entry 5 itself still fails
    assert result.reason is not None
    assert "altered" in result.reason


async def test_deleted_row_is_found(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 8)
    await raw(sessionmaker, "DELETE FROM audit_entries WHERE seq = 3")
    result = await verify(sessionmaker)
    assert (result.ok, result.first_broken, result.checked) == (False, 3, 2)
    assert result.reason is not None
    assert "missing" in result.reason


async def test_deleted_first_row_is_found(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 3)
    await raw(sessionmaker, "DELETE FROM audit_entries WHERE seq = 1")
    assert (await verify(sessionmaker)).first_broken == 1


async def test_deleted_tail_is_found(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 6)
    await raw(sessionmaker, "DELETE FROM audit_entries WHERE seq >= 5")
    result = await verify(sessionmaker)
    assert (result.ok, result.first_broken, result.checked) == (False, 5, 4)
    assert result.reason is not None
    assert "tail" in result.reason


async def test_renumbered_gap_is_found(sessionmaker: Maker) -> None:
    """Delete entry 3 and shift the later ones down to hide the gap."""
    await write_entries(sessionmaker, 6)
    await raw(
        sessionmaker,
        "DELETE FROM audit_entries WHERE seq = 3",
        "UPDATE audit_entries SET seq = seq + 100 WHERE seq > 3",
        "UPDATE audit_entries SET seq = seq - 101 WHERE seq > 100",
        "UPDATE audit_chain_head SET seq = 5",
    )
    result = await verify(sessionmaker)
    assert result.first_broken == 3


async def test_reordered_rows_are_found(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 8)
    await raw(
        sessionmaker,
        "UPDATE audit_entries SET seq = -4 WHERE seq = 4",
        "UPDATE audit_entries SET seq = 4 WHERE seq = 5",
        "UPDATE audit_entries SET seq = 5 WHERE seq = -4",
    )
    result = await verify(sessionmaker)
    assert (result.ok, result.first_broken) == (False, 4)


async def test_record_many(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 2)
    items = [
        AuditRecord(
            action="payout.create",
            principal="batch-bot",
            entity_type="payout",
            entity_id=f"po_b{index}",
            after={"amount": str(index)},
            request_id="req-batch",
        )
        for index in range(10_000)
    ]
    started = time.perf_counter()
    async with write_transaction(sessionmaker) as session:
        appended = await record_many(session, items)
    elapsed = time.perf_counter() - started
    assert (appended.first_seq, appended.last_seq, appended.count) == (3, 10_002, 10_000)
    await write_entries(sessionmaker, 1, start=99)
    result = await verify(sessionmaker)
    assert (result.ok, result.checked) == (True, 10_003), result.reason
    assert elapsed < 30


async def test_rolled_back_entry_leaves_no_gap(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 2)

    async def aborted() -> None:
        async with write_transaction(sessionmaker) as session:
            await record(
                session,
                action="x",
                principal="p",
                request_id=None,
                entity_type="t",
                entity_id="1",
                before=None,
                after=None,
            )
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await aborted()
    await write_entries(sessionmaker, 2, start=2)
    result = await verify(sessionmaker)
    assert (result.ok, result.checked) == (True, 4)


async def test_concurrent_writers_do_not_fork_the_chain(sessionmaker: Maker) -> None:
    async def writer(worker: int) -> None:
        for index in range(5):
            async with write_transaction(sessionmaker) as session:
                await record(
                    session,
                    action="payout.create",
                    principal=f"w{worker}",
                    request_id=None,
                    entity_type="payout",
                    entity_id=f"po_{worker}_{index}",
                    before=None,
                    after={"i": index},
                )
                await asyncio.sleep(0)

    await asyncio.gather(*(writer(worker) for worker in range(12)))
    result = await verify(sessionmaker)
    assert (result.ok, result.checked) == (True, 60), result.reason


async def test_append_only_triggers(engine: AsyncEngine, sessionmaker: Maker) -> None:
    statements = (
        POSTGRES_APPEND_ONLY_SQL if engine.dialect.name == "postgresql" else SQLITE_APPEND_ONLY_SQL
    )
    async with engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)
    await write_entries(sessionmaker, 3)
    for statement in (
        "UPDATE audit_entries SET principal = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_entries WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await raw(sessionmaker, statement)
    result = await verify(sessionmaker)
    assert (result.ok, result.checked) == (True, 3)


async def test_deleted_head_row_is_found(sessionmaker: Maker) -> None:
    await write_entries(sessionmaker, 3)
    await raw(sessionmaker, "DELETE FROM audit_chain_head")
    result = await verify(sessionmaker)
    assert (result.ok, result.first_broken) == (False, 4)


async def test_tricky_values_survive_the_database(sessionmaker: Maker) -> None:
    tricky = {
        "emoji": "\U0001f4b8 pay",
        "quote": 'a "b" \\ c',
        "control": "line\nbreak\ttab",
        "big": 2**63 - 1,
        "huge": 10**30,
        "neg": -1,
        "float": 0.1,
        "nested": {"z": [1, {"y": None}], "a": True, "": ""},
        "empty": [],
    }
    async with write_transaction(sessionmaker) as session:
        await record(
            session,
            action="x",
            principal="\u00e9ve",
            request_id="r",
            entity_type="t",
            entity_id="1",
            before=tricky,
            after={"k": tricky},
        )
    result = await verify(sessionmaker)
    assert (result.ok, result.checked) == (True, 1), result.reason


async def test_nan_is_refused(sessionmaker: Maker) -> None:
    async with write_transaction(sessionmaker) as session:
        with pytest.raises(ValueError, match="JSON"):
            await record(
                session,
                action="x",
                principal="p",
                request_id=None,
                entity_type="t",
                entity_id="1",
                before=None,
                after={"v": float("nan")},
            )
