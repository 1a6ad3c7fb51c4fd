"""The webhooks worker: fan the outbox out into deliveries, send what is due, back off.

It runs in ``tronpay serve`` (beside the engine) and in ``tronpay worker``; several
processes may run it against one PostgreSQL database:

* **dispatch**: one transaction takes the oldest undispatched outbox events, writes one
  delivery per subscribed endpoint (``webhook-id`` = the event id) and marks the events
  dispatched. On PostgreSQL one process dispatches at a time (a transaction-level advisory
  lock; the others skip this step), so deliveries keep the outbox order.
* **send**: one short transaction claims due deliveries (``FOR UPDATE SKIP LOCKED``),
  counts the attempt and leases each one until the attempt surely ended; the HTTP requests run
  outside any transaction; a second short transaction records the outcomes. A process killed
  mid-send leaves the lease to expire and another attempt sends the same message again, with
  the same ``webhook-id``: at least once, never lost, and receivers de-duplicate by id.

Nothing here touches payouts: a receiver that is slow, dead or answers 500 costs this loop
time, never the engine or the API.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.config import Settings
from tronpay.db.session import is_sqlite, read_transaction, write_transaction
from tronpay.kit.clock import utcnow
from tronpay.kit.tenants import DEFAULT_TENANT
from tronpay.observability.metrics import WEBHOOK_DELIVERIES
from tronpay.webhooks import repository
from tronpay.webhooks.delivery import SendResult, WebhookSender, encode_body
from tronpay.webhooks.events import event_type_of, message_body, subscribed
from tronpay.webhooks.repository import AttemptOutcome, ClaimedDelivery, DeliveryStatus
from tronpay.webhooks.service import delivery_row

log = structlog.get_logger(__name__)

DISPATCH_BATCH: Final = 500
# pg_try_advisory_xact_lock key of the dispatcher ("twhd" in ASCII).
DISPATCH_LOCK_KEY: Final = 0x74776864
ERROR_BACKOFF_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Timing of delivery. ``retry_for``: how long after the event retries go on."""

    timeout_s: float
    retry_base_s: float
    retry_max_s: float
    retry_for: timedelta
    poll_s: float
    concurrency: int
    allow_private: bool
    allow_http: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            timeout_s=settings.webhook_timeout_s,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
            retry_for=timedelta(seconds=settings.webhook_retry_for_s),
            poll_s=settings.webhook_poll_s,
            concurrency=settings.webhook_concurrency,
            allow_private=settings.webhook_allow_private,
            allow_http=not settings.is_production,
        )

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is left alone: well past the attempt's time limit."""
        return timedelta(seconds=2 * self.timeout_s + 5)

    def sender(self) -> WebhookSender:
        return WebhookSender(
            timeout_s=self.timeout_s, allow_private=self.allow_private, allow_http=self.allow_http
        )


def retry_delay(attempt: int, config: WorkerConfig, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1 = after the first failure): exponential from
    ``retry_base_s``, capped at ``retry_max_s``, with jitter (between half and all of it)."""
    ceiling = min(config.retry_max_s, config.retry_base_s * float(1 << min(attempt - 1, 32)))
    return ceiling * (0.5 + rng.random() / 2)


# -- dispatch -------------------------------------------------------------------------------


async def _dispatch_lock(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: write transactions are serialized already
    got = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DISPATCH_LOCK_KEY}
    )
    return bool(got.scalar_one())


async def dispatch_once(
    sessionmaker: async_sessionmaker[AsyncSession], *, retry_for: timedelta
) -> int:
    """Fan out one batch of outbox events. Returns how many events were dispatched."""
    # A read first: an idle worker never takes the write lock (SQLite has one writer).
    async with read_transaction(sessionmaker) as session:
        if not await repository.has_undispatched(session):
            return 0
    async with write_transaction(sessionmaker) as session:
        if not await _dispatch_lock(session):
            return 0
        endpoints = await repository.enabled_endpoints(session)
        # No endpoint: the events are only marked dispatched, their payloads never read.
        rows = await repository.undispatched(
            session,
            limit=DISPATCH_BATCH,
            skip_locked=session.get_bind().dialect.name == "postgresql",
            payloads=bool(endpoints),
        )
        if not rows:
            return 0
        now = utcnow()
        # An event reaches only the endpoints of its payout's tenant.
        tenants = await repository.event_tenants(session, rows) if endpoints else {}
        deliveries: list[dict[str, Any]] = []
        for row in rows:
            event_type = event_type_of(row.topic)
            if event_type is None:
                continue
            data = row.payload.get("data", {})
            body = message_body(event_type, row.created_at, data)
            tenant = tenants.get(row.entity_id or "", DEFAULT_TENANT)
            for endpoint in endpoints:
                if repository.endpoint_tenant(endpoint) != tenant:
                    continue
                if subscribed(endpoint.events, event_type):
                    deliveries.append(
                        delivery_row(
                            endpoint_id=endpoint.id,
                            message_id=row.event_id,
                            seq=row.id,
                            event_type=event_type,
                            entity_id=row.entity_id,
                            body=body,
                            now=now,
                            retry_for=retry_for,
                        )
                    )
        await repository.insert_deliveries(session, deliveries)
        await repository.mark_dispatched(session, [row.id for row in rows], now=now)
    if deliveries:
        log.info("webhook.dispatched", events=len(rows), deliveries=len(deliveries))
    return len(rows)


# -- send -----------------------------------------------------------------------------------


def _outcome(
    claimed: ClaimedDelivery, result: SendResult, config: WorkerConfig, rng: random.Random
) -> AttemptOutcome:
    now = utcnow()
    if result.ok:
        return AttemptOutcome(DeliveryStatus.DELIVERED, None, result.status_code, None, now)
    if now >= claimed.give_up_at:
        return AttemptOutcome(DeliveryStatus.FAILED, None, result.status_code, result.error, now)
    due = now + timedelta(seconds=retry_delay(claimed.attempt, config, rng))
    return AttemptOutcome(
        DeliveryStatus.PENDING, min(due, claimed.give_up_at), result.status_code, result.error, now
    )


async def _send(sender: WebhookSender, claimed: ClaimedDelivery) -> SendResult:
    return await sender.send(
        url=claimed.url,
        message_id=claimed.message_id,
        body=encode_body(claimed.body),
        secrets=claimed.secrets,
    )


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: WebhookSender,
    config: WorkerConfig,
    *,
    rng: random.Random | None = None,
) -> int:
    """Claim, send and record one round of due deliveries. Returns how many were tried."""
    engine_sqlite = is_sqlite(sessionmaker.kw["bind"])
    now = utcnow()
    async with read_transaction(sessionmaker) as session:
        if not await repository.has_due(session, now=now):
            return 0
    async with write_transaction(sessionmaker) as session:
        claimed = await repository.claim_due(
            session,
            now=now,
            lease_until=now + config.lease,
            limit=config.concurrency,
            skip_locked=not engine_sqlite,
        )
    if not claimed:
        return 0
    results = await asyncio.gather(*(_send(sender, c) for c in claimed))
    await _record(sessionmaker, claimed, results, config, rng or random.Random())
    return len(claimed)


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    claimed: Sequence[ClaimedDelivery],
    results: Sequence[SendResult],
    config: WorkerConfig,
    rng: random.Random,
) -> None:
    async with write_transaction(sessionmaker) as session:
        for item, result in zip(claimed, results, strict=True):
            outcome = _outcome(item, result, config, rng)
            await repository.record_attempt(session, item.id, item.attempt, outcome)
            WEBHOOK_DELIVERIES.labels(outcome=_metric_outcome(outcome.status)).inc()
            fields = {
                "webhook_id": item.endpoint_id,
                "delivery_id": item.id,
                "message_id": item.message_id,
                "event_type": item.event_type,
                "attempt": item.attempt,
                "status_code": result.status_code,
                "duration_ms": round(result.duration_s * 1000),
            }
            if outcome.status is DeliveryStatus.DELIVERED:
                log.info("webhook.delivery.delivered", **fields)
            elif outcome.status is DeliveryStatus.FAILED:
                log.warning("webhook.delivery.failed", error=result.error, **fields)
            else:
                log.info(
                    "webhook.delivery.retry",
                    error=result.error,
                    next_attempt_at=outcome.next_attempt_at,
                    **fields,
                )


def _metric_outcome(status: DeliveryStatus) -> str:
    if status is DeliveryStatus.DELIVERED:
        return "delivered"
    if status is DeliveryStatus.FAILED:
        return "failed"
    return "retry"


# -- the loop -------------------------------------------------------------------------------


async def run_webhooks(
    sessionmaker: async_sessionmaker[AsyncSession],
    config: WorkerConfig,
    stop: asyncio.Event,
    *,
    sender: WebhookSender | None = None,
) -> None:
    """Dispatch and send until ``stop``. An error in one round is logged and retried."""
    own_sender = sender is None
    active = sender or config.sender()
    log.info("webhooks.started", concurrency=config.concurrency)
    try:
        while not stop.is_set():
            busy = False
            try:
                busy = await dispatch_once(sessionmaker, retry_for=config.retry_for) > 0
                busy = await send_due(sessionmaker, active, config) > 0 or busy
            except Exception as exc:
                log.error("webhooks.round_failed", error=type(exc).__name__, detail=str(exc))
                await _wait(stop, ERROR_BACKOFF_S)
                continue
            if not busy:
                await _wait(stop, config.poll_s)
    finally:
        if own_sender:
            await active.aclose()
        log.info("webhooks.stopped")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
