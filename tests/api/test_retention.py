"""Idempotency keys expire after the retention period; a replay after expiry creates nothing
new when the payout had a reference (references stay unique). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from tests.api.conftest import ADDR_A

from tronpay.api.models import IdempotencyRecord
from tronpay.api.retention import purge_expired, run_retention
from tronpay.db.session import read_transaction, write_transaction
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout

RETENTION = timedelta(days=30)


async def _age(app: FastAPI, key: str, age: timedelta) -> None:
    async with write_transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(created_at=utcnow() - age)
        )


async def _count(app: FastAPI, model: type[IdempotencyRecord] | type[Payout]) -> int:
    async with read_transaction(app.state.sessionmaker) as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _create(client: httpx.AsyncClient, key: str, **body: str) -> httpx.Response:
    return await client.post(
        "/v1/payouts", json={"to": ADDR_A, "amount": "1", **body}, headers={"Idempotency-Key": key}
    )


async def test_expired_keys_are_purged_and_young_ones_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert app.state.settings.idempotency_retention_days == 30
    for key in ("old", "young"):
        assert (await _create(client, key, reference=f"ref-{key}")).status_code == 201
    await _age(app, "old", RETENTION + timedelta(minutes=1))
    await _age(app, "young", RETENTION - timedelta(minutes=1))
    deleted = await purge_expired(app.state.sessionmaker, older_than=utcnow() - RETENTION)
    assert deleted == 1
    assert await _count(app, IdempotencyRecord) == 1
    young = await _create(client, "young", reference="ref-young")
    assert young.status_code == 201
    assert young.headers["Idempotent-Replayed"] == "true"


async def test_a_replay_after_expiry_with_a_reference_creates_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await _create(client, "k1", reference="invoice-7")
    assert first.status_code == 201
    await _age(app, "k1", RETENTION + timedelta(days=1))
    assert await purge_expired(app.state.sessionmaker, older_than=utcnow() - RETENTION) == 1
    late = await _create(client, "k1", reference="invoice-7")
    assert late.status_code == 409, late.text
    assert late.json()["code"] == "duplicate_reference"
    assert await _count(app, Payout) == 1


async def test_a_replay_after_expiry_without_a_reference_is_a_new_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Documented: only a reference protects a retry older than the retention period."""
    first = await _create(client, "k2")
    await _age(app, "k2", RETENTION + timedelta(days=1))
    await purge_expired(app.state.sessionmaker, older_than=utcnow() - RETENTION)
    late = await _create(client, "k2")
    assert late.status_code == 201
    assert "Idempotent-Replayed" not in late.headers
    assert late.json()["id"] != first.json()["id"]


async def test_the_background_task_purges_and_stops(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await _create(client, "bg", reference="bg")).status_code == 201
    await _age(app, "bg", RETENTION * 2)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_retention(
            app.state.sessionmaker, retention=RETENTION, stop=stop, first_after_s=0, interval_s=0.05
        )
    )
    try:
        for _ in range(100):
            if await _count(app, IdempotencyRecord) == 0:
                break
            await asyncio.sleep(0.05)
        assert await _count(app, IdempotencyRecord) == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert await _count(app, Payout) == 1
