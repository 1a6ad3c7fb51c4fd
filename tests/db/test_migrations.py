"""The Alembic migrations build exactly the schema of ``Base.metadata`` (no autogenerate
diff) on SQLite and PostgreSQL, downgrade cleanly, and on PostgreSQL make the audit log
append-only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from tronpay.db import migrate
from tronpay.db.models import Base
from tronpay.db.session import create_engine


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_matches_metadata_and_downgrades(db_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        await asyncio.to_thread(migrate.downgrade, db_url, "base")
        async with engine.connect() as conn:
            left = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
        await asyncio.to_thread(migrate.upgrade, db_url)  # and up again
    finally:
        await engine.dispose()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_audit_entries_are_append_only_on_postgres(db_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO audit_entries (seq, created_at, principal, action, entity_type,"
                    " entity_id, prev_hash, hash) VALUES (1, now(), 'p', 'a', 't', 'i', 'x', 'y')"
                )
            )
        for statement in ("UPDATE audit_entries SET action = 'b'", "DELETE FROM audit_entries"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def test_audit_entries_are_append_only_after_migrations(db_url: str) -> None:
    """On SQLite too (0002): UPDATE, DELETE of one row and DELETE of every row abort."""
    await asyncio.to_thread(migrate.upgrade, db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO audit_entries (seq, created_at, principal, action, entity_type,"
                    " entity_id, prev_hash, hash)"
                    " VALUES (1, CURRENT_TIMESTAMP, 'p', 'a', 't', 'i', 'x', 'y')"
                )
            )
        for statement in (
            "UPDATE audit_entries SET action = 'b' WHERE seq = 1",
            "DELETE FROM audit_entries WHERE seq = 1",
            "DELETE FROM audit_entries",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT action FROM audit_entries"))).one()
        assert row.action == "a"
        # Downgrading below 0002 removes the SQLite triggers again (and 0001's drop of the
        # table still works with them in place).
        await asyncio.to_thread(migrate.downgrade, db_url, "0001")
        if engine.dialect.name == "sqlite":
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE audit_entries SET action = 'b'"))
        await asyncio.to_thread(migrate.downgrade, db_url, "base")
    finally:
        await engine.dispose()
