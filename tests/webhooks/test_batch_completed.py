"""``batch.completed`` on SQLite and PostgreSQL: sent once, by the transaction that ends the
batch's last open payout (cancelled through the API, failed through the engine's bulk
transition), with the batch as ``GET /v1/batches/{id}`` shows it; never before, never twice,
also when several transactions end a batch's last payouts at the same time; and only to the
endpoints of the batch's tenant."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook
from tests.webhooks.conftest import ADDR_A, tenant_client
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import pump, register

from tronpay.batches.models import Batch
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout
from tronpay.payouts.states import Actor, BulkChange, PayoutStatus, transition_many
from tronpay.webhooks.models import OutboxEvent
from tronpay.webhooks.worker import WorkerConfig, dispatch_once

ENGINE = Actor(principal="system:engine")


async def create_batch(client: httpx.AsyncClient, key: str, amounts: list[str]) -> dict[str, Any]:
    items = [{"to": ADDR_A, "amount": amount} for amount in amounts]
    answer = await client.post(
        "/v1/batches", json={"items": items}, headers={"Idempotency-Key": key}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["completed_at"] is None
    return body


async def payout_ids(maker: async_sessionmaker[AsyncSession], batch_id: str) -> list[str]:
    async with maker() as session:
        rows = await session.execute(
            select(Payout.id).where(Payout.batch_id == batch_id).order_by(Payout.id)
        )
        return [str(pid) for pid in rows.scalars()]


async def completed_events(maker: async_sessionmaker[AsyncSession]) -> list[OutboxEvent]:
    async with maker() as session:
        rows = await session.execute(
            select(OutboxEvent).where(OutboxEvent.topic == "batch.completed")
        )
        return list(rows.scalars())


async def fail(maker: async_sessionmaker[AsyncSession], ids: list[str], *, lock: bool) -> None:
    """What the engine does to payouts that cannot be paid: queued -> failed, in bulk."""
    async with write_transaction(maker) as session:
        moved = await transition_many(
            session,
            [
                BulkChange(pid, changes={"failure_reason": "recipient_cannot_receive"})
                for pid in ids
            ],
            PayoutStatus.FAILED,
            actor=ENGINE,
            action="payout.fail",
            now=utcnow(),
            lock=lock,
        )
        assert sorted(moved.changed) == sorted(ids)


async def test_sent_once_when_the_last_payout_ends_with_the_batch_as_get_shows_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    hook = await register(client, receiver.url, events=["batch.completed"])
    batch = await create_batch(client, "batch-done-1", ["1", "2.5", "0.000001"])
    first, second, third = await payout_ids(maker, batch["id"])
    postgres = maker.kw["bind"].dialect.name == "postgresql"

    # One cancelled (API), one failed (engine): the batch still has an open payout.
    assert (await client.post(f"/v1/payouts/{first}/cancel")).status_code == 200
    await fail(maker, [second], lock=postgres)
    assert await completed_events(maker) == []
    assert (await client.get(f"/v1/batches/{batch['id']}")).json()["completed_at"] is None

    # The last one ends: one event, in that transaction.
    assert (await client.post(f"/v1/payouts/{third}/cancel")).status_code == 200
    events = await completed_events(maker)
    assert len(events) == 1
    assert events[0].entity_id == batch["id"]
    shown = (await client.get(f"/v1/batches/{batch['id']}")).json()
    assert shown["completed_at"] is not None
    assert events[0].payload["data"] == shown
    assert {(s["status"], s["count"], s["amount"]) for s in shown["summary"]} == {
        ("cancelled", 2, "1.000001"),
        ("failed", 1, "2.5"),
    }

    # Delivered, signed, with the same data.
    await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
    got = receiver.snapshot()[0]
    body = Webhook(hook["secret"]).verify(got.body, got.headers)
    assert body["type"] == "batch.completed"
    assert body["data"] == shown
    assert json.loads(got.body)["data"]["summary"][0]["amount"] == "1.000001"

    # A retry of a failed payout that fails again does not send it a second time.
    retried = await client.post(f"/v1/payouts/{second}/retry")
    assert retried.status_code == 200, retried.text
    await fail(maker, [second], lock=postgres)
    assert len(await completed_events(maker)) == 1


async def test_concurrent_ends_of_the_last_payouts_send_exactly_one_per_batch(
    app: FastAPI, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    """Eight batches of two payouts; each payout ends in its own transaction, all sixteen at
    once (on PostgreSQL: sixteen connections racing). Every batch completes, once."""
    postgres = maker.kw["bind"].dialect.name == "postgresql"
    batches = [await create_batch(client, f"race-{n}", ["1", "2"]) for n in range(8)]
    ids = [pid for b in batches for pid in await payout_ids(maker, b["id"])]
    await asyncio.gather(*(fail(maker, [pid], lock=postgres) for pid in ids))
    events = await completed_events(maker)
    assert sorted(e.entity_id or "" for e in events) == sorted(b["id"] for b in batches)
    async with maker() as session:
        done = await session.execute(select(Batch.completed_at))
        assert all(moment is not None for moment in done.scalars())


async def test_a_batch_event_reaches_only_its_tenants_endpoints(
    tenant_app: FastAPI, jwt_secret: bytes, receiver: Receiver, config: WorkerConfig
) -> None:
    maker: async_sessionmaker[AsyncSession] = tenant_app.state.sessionmaker
    async with (
        tenant_client(tenant_app, jwt_secret, "acme") as acme,
        tenant_client(tenant_app, jwt_secret, "globex") as globex,
    ):
        await register(acme, receiver.url + "/acme", events=["batch.completed"])
        await register(globex, receiver.url + "/globex", events=["batch.completed"])
        batch = await create_batch(acme, "acme-batch", ["1"])
        (only,) = await payout_ids(maker, batch["id"])
        assert (await acme.post(f"/v1/payouts/{only}/cancel")).status_code == 200
        await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
        await dispatch_once(maker, retry_for=config.retry_for)
        assert [r.path for r in receiver.snapshot()] == ["/hooks/acme"]
