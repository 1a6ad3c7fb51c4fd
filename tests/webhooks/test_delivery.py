"""Delivery end to end on SQLite and PostgreSQL: outbox events of real payout changes reach a
real receiver on 127.0.0.1, signed (verified with the ``standardwebhooks`` package), with
retries after 500s and timeouts under one ``webhook-id``, in order per payout, given up after
the retry window and re-sendable; both secrets sign during a rotation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.webhooks.conftest import ADDR_A
from tests.webhooks.receiver import Answer, Receiver

from tronpay.db.session import write_transaction
from tronpay.engine.repository.claims import block_payouts
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout
from tronpay.webhooks.models import OutboxEvent, WebhookDelivery
from tronpay.webhooks.worker import WorkerConfig, dispatch_once, run_webhooks, send_due


async def pump(
    maker: async_sessionmaker[AsyncSession],
    config: WorkerConfig,
    done: Callable[[], bool],
    *,
    timeout_s: float = 15.0,
) -> None:
    """Run the worker's steps until ``done()``."""
    sender = config.sender()
    try:
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, "the worker did not get there in time"
            await dispatch_once(maker, retry_for=config.retry_for)
            if await send_due(maker, sender, config) == 0:
                await asyncio.sleep(0.02)
    finally:
        await sender.aclose()


async def deliveries(maker: async_sessionmaker[AsyncSession]) -> list[WebhookDelivery]:
    async with maker() as session:
        rows = await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.seq))
        return list(rows.scalars())


async def register(client: httpx.AsyncClient, url: str, **extra: Any) -> dict[str, Any]:
    answer = await client.post("/v1/webhooks", json={"url": url, **extra})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def create_payout(client: httpx.AsyncClient, key: str, amount: str = "1") -> dict[str, Any]:
    answer = await client.post(
        "/v1/payouts", json={"to": ADDR_A, "amount": amount}, headers={"Idempotency-Key": key}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def metric(outcome: str) -> float:
    value = REGISTRY.get_sample_value("tronpay_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


async def test_payout_events_arrive_signed_with_the_outbox_id(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    every = await register(client, receiver.url)
    only_cancelled = await register(
        client, receiver.url + "/cancelled", events=["payout.cancelled"]
    )
    payout = await create_payout(client, "k-1")
    cancelled = await client.post(f"/v1/payouts/{payout['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    await pump(maker, config, lambda: len(receiver.snapshot()) == 3)
    got = receiver.snapshot()
    to_every = [r for r in got if r.path == "/hooks"]
    to_cancelled = [r for r in got if r.path == "/hooks/cancelled"]
    assert len(to_every) == 2
    assert len(to_cancelled) == 1

    async with maker() as session:
        events = {
            e.topic: e.event_id for e in (await session.execute(select(OutboxEvent))).scalars()
        }
    bodies = [Webhook(every["secret"]).verify(r.body, r.headers) for r in to_every]
    assert [b["type"] for b in bodies] == ["payout.created", "payout.cancelled"]
    assert [r.headers["webhook-id"] for r in to_every] == [
        events["payout.created"],
        events["payout.cancelled"],
    ]
    created = bodies[0]
    assert set(created) == {"type", "timestamp", "data"}
    assert created["timestamp"].endswith("Z")
    assert created["data"]["id"] == payout["id"]
    assert created["data"]["amount"] == "1"
    assert created["data"]["status"] == "queued"
    assert bodies[1]["data"]["status"] == "cancelled"
    assert abs(int(to_every[0].headers["webhook-timestamp"]) - time.time()) < 60
    assert to_every[0].headers["content-type"] == "application/json"

    only = Webhook(only_cancelled["secret"]).verify(to_cancelled[0].body, to_cancelled[0].headers)
    assert only["type"] == "payout.cancelled"
    with pytest.raises(WebhookVerificationError):  # each endpoint has its own secret
        Webhook(every["secret"]).verify(to_cancelled[0].body, to_cancelled[0].headers)

    log = (await client.get(f"/v1/webhooks/{every['id']}/deliveries")).json()["items"]
    assert [d["status"] for d in log] == ["delivered", "delivered"]
    assert [d["attempts"] for d in log] == [1, 1]
    assert {d["message_id"] for d in log} == {events["payout.created"], events["payout.cancelled"]}

    # The secrets are in no log line and no delivery row.
    logged = capsys.readouterr()
    assert "webhook.delivery.delivered" in logged.out
    for secret in (every["secret"], only_cancelled["secret"]):
        assert secret not in logged.out + logged.err
        assert secret.removeprefix("whsec_") not in json.dumps(log)

    # Dispatched once: running the steps again sends nothing new.
    await dispatch_once(maker, retry_for=config.retry_for)
    assert len(await deliveries(maker)) == 3


async def test_retries_after_500_and_a_timeout_under_one_webhook_id(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    hook = await register(client, receiver.url)
    receiver.plan(Answer(status=500), Answer(delay_s=1.5))
    fast = replace(config, timeout_s=0.5)
    before = metric("retry")
    await client.post(f"/v1/webhooks/{hook['id']}/test")

    await pump(maker, fast, lambda: len(receiver.snapshot()) >= 1)
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
    assert log[0]["status"] == "pending"
    assert log[0]["last_status_code"] == 500
    assert log[0]["last_error"] == "HTTP 500: receiver says no"
    assert log[0]["next_attempt_at"] is not None

    sender = fast.sender()
    try:
        deadline = time.monotonic() + 15
        while not all(d.status == "delivered" for d in await deliveries(maker)):
            assert time.monotonic() < deadline
            await send_due(maker, sender, fast)
            await asyncio.sleep(0.02)
    finally:
        await sender.aclose()
    for _ in range(100):  # the timed-out request is recorded once its handler wakes up
        if len(receiver.snapshot()) == 3:
            break
        await asyncio.sleep(0.05)
    got = receiver.snapshot()
    assert len(got) == 3
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert len({r.body for r in got}) == 1
    for r in got:
        assert Webhook(hook["secret"]).verify(r.body, r.headers)["type"] == "webhook.test"
    [row] = await deliveries(maker)
    assert row.attempts == 3
    assert row.last_status_code == 204
    assert row.last_error is None
    assert metric("retry") - before == 2


async def test_given_up_after_the_window_then_resent_by_hand(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    hook = await register(client, receiver.url)
    receiver.default = Answer(status=503)
    short = replace(config, retry_for=timedelta(seconds=0.5))
    failed_before = metric("failed")
    # The window is fixed when the delivery is made: make it with the short one.
    await create_payout(client, "k-gone")
    await pump(maker, short, lambda: bool(receiver.snapshot()))

    async def status() -> str:
        return (await deliveries(maker))[0].status

    deadline = time.monotonic() + 15
    sender = short.sender()
    try:
        while await status() != "failed":
            assert time.monotonic() < deadline
            await send_due(maker, sender, short)
            await asyncio.sleep(0.05)
    finally:
        await sender.aclose()
    assert metric("failed") - failed_before == 1
    attempts = len(receiver.snapshot())
    assert attempts >= 2
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries?status=failed")).json()
    [entry] = log["items"]
    assert entry["next_attempt_at"] is None
    assert entry["last_status_code"] == 503

    receiver.default = Answer(status=200)
    resent = await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{entry['id']}/resend")
    assert resent.status_code == 202, resent.text
    assert resent.json()["status"] == "pending"
    await pump(maker, config, lambda: len(receiver.snapshot()) == attempts + 1)
    got = receiver.snapshot()
    assert {r.headers["webhook-id"] for r in got} == {entry["message_id"]}
    assert (await deliveries(maker))[0].status == "delivered"


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    hook = await register(client, receiver.url)
    old = hook["secret"]
    rotated = await client.post(
        f"/v1/webhooks/{hook['id']}/rotate-secret", json={"overlap_seconds": 600}
    )
    new = rotated.json()["secret"]
    await client.post(f"/v1/webhooks/{hook['id']}/test")
    await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
    first = receiver.snapshot()[0]
    assert first.headers["webhook-signature"].count("v1,") == 2
    Webhook(old).verify(first.body, first.headers)
    Webhook(new).verify(first.body, first.headers)

    newest = (
        await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", json={"overlap_seconds": 0})
    ).json()["secret"]
    await client.post(f"/v1/webhooks/{hook['id']}/test")
    await pump(maker, config, lambda: len(receiver.snapshot()) == 2)
    second = receiver.snapshot()[1]
    assert second.headers["webhook-signature"].count("v1,") == 1
    Webhook(newest).verify(second.body, second.headers)
    for stale in (old, new):
        with pytest.raises(WebhookVerificationError):
            Webhook(stale).verify(second.body, second.headers)


async def test_events_of_one_payout_are_sent_in_order_even_across_retries(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    await register(client, receiver.url)
    receiver.plan(Answer(status=500), Answer(status=500))
    payout = await create_payout(client, "k-order")
    await client.post(f"/v1/payouts/{payout['id']}/cancel")
    await pump(maker, config, lambda: len(receiver.snapshot()) == 4)
    types = [json.loads(r.body)["type"] for r in receiver.snapshot()]
    assert types == ["payout.created"] * 3 + ["payout.cancelled"]


async def test_a_newly_blocked_payout_is_an_event_with_its_reason(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    hook = await register(client, receiver.url, events=["payout.blocked"])
    payout = await create_payout(client, "k-blocked")
    lock = maker.kw["bind"].dialect.name == "postgresql"
    for _ in range(2):  # blocked twice for the same reason: one event
        async with write_transaction(maker) as session:
            row = await session.get(Payout, payout["id"])
            assert row is not None
            await block_payouts(
                session,
                {payout["id"]: "insufficient_trx"},
                {payout["id"]: row.version},
                now=utcnow(),
                lock=lock,
            )
    await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
    await asyncio.sleep(0.1)
    [got] = receiver.snapshot()
    body = Webhook(hook["secret"]).verify(got.body, got.headers)
    assert body["type"] == "payout.blocked"
    assert body["data"]["blocked_reason"] == "insufficient_trx"
    assert body["data"]["status"] == "queued"


async def test_the_worker_loop_delivers_until_stopped(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    await register(client, receiver.url)
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhooks(maker, config, stop))
    try:
        await create_payout(client, "k-loop")
        for _ in range(200):
            if receiver.snapshot():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert json.loads(receiver.snapshot()[0].body)["type"] == "payout.created"


async def test_a_disabled_endpoint_gets_nothing_until_enabled_again(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    hook = await register(client, receiver.url)
    await client.post(f"/v1/webhooks/{hook['id']}/test")
    await client.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": False})
    await create_payout(client, "k-disabled")  # not fanned out to a disabled endpoint
    sender = config.sender()
    try:
        await dispatch_once(maker, retry_for=config.retry_for)
        assert await send_due(maker, sender, config) == 0
    finally:
        await sender.aclose()
    assert receiver.snapshot() == []
    await client.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True})
    await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
    assert json.loads(receiver.snapshot()[0].body)["type"] == "webhook.test"
    assert len(await deliveries(maker)) == 1


async def test_without_an_endpoint_events_are_marked_dispatched_and_never_sent_later(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    config: WorkerConfig,
) -> None:
    await create_payout(client, "k-no-endpoint")
    assert await dispatch_once(maker, retry_for=config.retry_for) == 1  # payout.created
    async with maker() as session:
        outbox = (await session.execute(select(OutboxEvent))).scalars().all()
    assert [e.topic for e in outbox] == ["payout.created"]
    assert all(e.delivered_at is not None for e in outbox)
    assert outbox[0].payload["data"]["status"] == "queued"  # the row itself is untouched
    assert await deliveries(maker) == []
    # An endpoint registered afterwards gets what happens from then on, not the old events.
    await register(client, receiver.url)
    await create_payout(client, "k-after-endpoint")
    await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
    [got] = receiver.snapshot()
    assert json.loads(got.body)["data"]["status"] == "queued"
    assert len(await deliveries(maker)) == 1
