"""Migration 0005 (tenants) on a database with rows (SQLite and PostgreSQL): every row lands
in the tenant ``default``, attempts and the audit chain survive, references become unique
per tenant and idempotency keys per (tenant, subject); shared references refuse the upgrade."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tronpay.audit import verify_chain
from tronpay.audit.hashing import entry_hash
from tronpay.audit.models import GENESIS_HASH
from tronpay.db import migrate
from tronpay.db.session import create_engine, create_sessionmaker, read_transaction

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TABLES = ("payouts", "batches", "idempotency_records", "audit_entries")


def _payout(payout_id: str, client: str, reference: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "id": payout_id,
        "client": client,
        "reference": reference,
        "to_address": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
        "asset": "USDT",
        "amount": 1_000_000,
        "status": "queued",
        "created_by": client,
        "created_at": NOW,
        "updated_at": NOW,
        "attempt_count": 0,
        "version": 1,
        "batch_id": None,
        **extra,
    }


async def _insert(engine: AsyncEngine, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    async with engine.begin() as conn:
        await conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), row)  # noqa: S608


async def _fill_before_tenants(engine: AsyncEngine) -> None:
    await _insert(
        engine,
        "batches",
        {
            "id": "ba_1",
            "client": "alice",
            "created_by": "alice",
            "source": "json",
            "item_count": 1,
            "created_at": NOW,
        },
    )
    await _insert(engine, "payouts", _payout("po_1", "alice", "r-1", batch_id="ba_1"))
    await _insert(engine, "payouts", _payout("po_2", "bob", "r-2"))
    await _insert(engine, "payouts", _payout("po_3", "bob", None))
    await _insert(
        engine,
        "payout_attempts",
        {
            "id": "at_1",
            "payout_id": "po_1",
            "txid": "ab" * 32,
            "raw_data": b"\x0a\x00raw",
            "signature": b"\x01" * 65,
            "expiration_ms": 1,
            "status": "broadcast",
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    for subject in ("alice", "bob"):
        await _insert(
            engine,
            "idempotency_records",
            {
                "subject": subject,
                "key": "k1",
                "operation": "payouts.create",
                "request_hash": "h" * 64,
                "created_at": NOW,
            },
        )
    entry = {
        "seq": 1,
        "created_at": NOW,
        "principal": "alice",
        "request_id": None,
        "action": "payout.create",
        "entity_type": "payout",
        "entity_id": "po_1",
        "before": None,
        "after": None,
    }
    digest = entry_hash(prev_hash=GENESIS_HASH, **entry)
    await _insert(engine, "audit_entries", {**entry, "prev_hash": GENESIS_HASH, "hash": digest})
    await _insert(engine, "audit_chain_head", {"id": 1, "seq": 1, "hash": digest})


async def _column(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).scalars())


async def test_upgrade_puts_existing_rows_in_the_default_tenant(db_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, db_url, "0004")
    engine = create_engine(db_url)
    try:
        await _fill_before_tenants(engine)
        await asyncio.to_thread(migrate.upgrade, db_url)
        for table in TABLES:
            assert set(await _column(engine, f"SELECT tenant FROM {table}")) == {"default"}  # noqa: S608
        async with engine.connect() as conn:
            attempt = (
                await conn.execute(text("SELECT payout_id, raw_data FROM payout_attempts"))
            ).one()
        assert (attempt.payout_id, bytes(attempt.raw_data)) == ("po_1", b"\x0a\x00raw")
        async with read_transaction(create_sessionmaker(engine)) as session:
            assert (await verify_chain(session)).ok

        # A reference is unique per tenant: another tenant may use it, another client of the
        # same tenant may not. Keys: per (tenant, subject).
        await _insert(engine, "payouts", _payout("po_4", "dave", "r-1", tenant="acme"))
        with pytest.raises(IntegrityError):
            await _insert(engine, "payouts", _payout("po_5", "carol", "r-1"))
        key = {
            "subject": "alice",
            "key": "k1",
            "operation": "payouts.create",
            "request_hash": "h" * 64,
            "created_at": NOW,
        }
        await _insert(engine, "idempotency_records", {**key, "tenant": "acme"})
        with pytest.raises(IntegrityError):
            await _insert(engine, "idempotency_records", key)

        # No downgrade while another tenant has rows; without them, down again with the rows
        # in place (the attempts survive that rebuild too), and up.
        with pytest.raises(RuntimeError, match="other than 'default'"):
            await asyncio.to_thread(migrate.downgrade, db_url, "0004")
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM payouts WHERE tenant = 'acme'"))
            await conn.execute(text("DELETE FROM idempotency_records WHERE tenant = 'acme'"))
        await asyncio.to_thread(migrate.downgrade, db_url, "0004")
        assert await _column(engine, "SELECT id FROM payout_attempts") == ["at_1"]
        await asyncio.to_thread(migrate.upgrade, db_url)
        assert sorted(await _column(engine, "SELECT tenant FROM payouts")) == ["default"] * 3
    finally:
        await engine.dispose()


async def test_upgrade_refuses_a_reference_two_clients_share(db_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, db_url, "0004")
    engine = create_engine(db_url)
    try:
        await _insert(engine, "payouts", _payout("po_1", "alice", "same"))
        await _insert(engine, "payouts", _payout("po_2", "bob", "same"))
        with pytest.raises(RuntimeError, match="1 payout reference"):
            await asyncio.to_thread(migrate.upgrade, db_url)
        assert await _column(engine, "SELECT version_num FROM alembic_version") == ["0004"]
    finally:
        await engine.dispose()
