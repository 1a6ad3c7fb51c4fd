"""Webhook queries. Repositories flush, never commit; the caller owns the transaction.

On PostgreSQL the dispatcher and the senders lock what they take (``FOR UPDATE SKIP
LOCKED``), so several processes share the work without sending a delivery twice at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, cast

from sqlalchemy import Table, and_, delete, exists, func, insert, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tronpay.batches.models import Batch
from tronpay.kit.chunking import chunked
from tronpay.kit.pagination import Cursor, Page
from tronpay.kit.tenants import DEFAULT_TENANT
from tronpay.payouts.models import Payout
from tronpay.webhooks.models import OutboxEvent, WebhookDelivery, WebhookEndpoint

_OUTBOX = cast(Table, OutboxEvent.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


SHARED_TENANT: Final[str | None] = None  # the default tenant (rows from before tenancy)


# -- endpoints ------------------------------------------------------------------------------


async def add_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get_endpoint(
    session: AsyncSession, endpoint_id: str, *, tenant: str | None = SHARED_TENANT
) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, _tenant_is(WebhookEndpoint.tenant, tenant)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_endpoints(
    session: AsyncSession, *, tenant: str | None = SHARED_TENANT
) -> list[WebhookEndpoint]:
    stmt = (
        select(WebhookEndpoint)
        .where(_tenant_is(WebhookEndpoint.tenant, tenant))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list((await session.execute(stmt)).scalars())


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    # The delivery log goes with it (the foreign key cascades on PostgreSQL; SQLite is told).
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    await session.delete(endpoint)
    await session.flush()


async def enabled_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
    return list((await session.execute(stmt)).scalars())


def _tenant_is(column: Any, tenant: str | None) -> Any:
    # Every endpoint query names its tenant; an endpoint registered before tenancy (NULL)
    # belongs to the default tenant.
    if tenant is None or tenant == DEFAULT_TENANT:
        return or_(column.is_(None), column == DEFAULT_TENANT)
    return column == tenant


def endpoint_tenant(endpoint: WebhookEndpoint) -> str:
    return endpoint.tenant or DEFAULT_TENANT


async def event_tenants(session: AsyncSession, rows: Sequence[OutboxRow]) -> dict[str, str]:
    """The tenant of what each outbox event is about (``entity_id`` -> tenant): the payout
    of a ``payout.*`` event, the batch of a ``batch.*`` event. Events about anything else
    (``wallet.low``: the one hot wallet) belong to the default tenant."""
    tenants: dict[str, str] = {}
    for prefix, model in (("payout.", Payout), ("batch.", Batch)):
        ids = sorted(
            {row.entity_id for row in rows if row.entity_id and row.topic.startswith(prefix)}
        )
        for chunk in chunked(ids):
            result = await session.execute(
                select(model.id, model.tenant).where(model.id.in_(chunk))
            )
            tenants.update({str(eid): str(tenant) for eid, tenant in result.all()})
    return tenants


# -- deliveries -----------------------------------------------------------------------------


async def get_delivery(
    session: AsyncSession, endpoint_id: str, delivery_id: str
) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_deliveries(
    session: AsyncSession,
    endpoint_id: str,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[WebhookDelivery]:
    """The delivery log of an endpoint, newest first."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if cursor is not None:
        after = Cursor.decode(cursor)
        stmt = stmt.where(
            or_(
                WebhookDelivery.created_at < after.created_at,
                and_(
                    WebhookDelivery.created_at == after.created_at,
                    WebhookDelivery.id < after.id,
                ),
            )
        )
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = Cursor(created_at=last.created_at, id=last.id).encode()
    return Page(items=rows, next_cursor=next_cursor)


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(_DELIVERIES), list(rows))


async def pending_count(session: AsyncSession) -> int:
    stmt = select(func.count()).where(WebhookDelivery.status == DeliveryStatus.PENDING.value)
    return int((await session.execute(stmt)).scalar_one())


# -- the dispatcher ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: str
    topic: str
    entity_id: str | None
    payload: dict[str, Any]
    created_at: datetime


async def undispatched(
    session: AsyncSession, *, limit: int, skip_locked: bool, payloads: bool = True
) -> list[OutboxRow]:
    """The oldest outbox events not yet fanned out, locked until the transaction ends.
    ``payloads=False`` leaves the payloads unread (``{}``): nothing will be sent."""
    stmt = (
        select(
            _OUTBOX.c.id,
            _OUTBOX.c.event_id,
            _OUTBOX.c.topic,
            _OUTBOX.c.entity_id,
            _OUTBOX.c.payload if payloads else null().label("payload"),
            _OUTBOX.c.created_at,
        )
        .where(_OUTBOX.c.delivered_at.is_(None))
        .order_by(_OUTBOX.c.id)
        .limit(limit)
    )
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    return [
        OutboxRow(*row[:4], row[4] if payloads else {}, row[5])
        for row in (await session.execute(stmt)).all()
    ]


async def has_undispatched(session: AsyncSession) -> bool:
    stmt = select(_OUTBOX.c.id).where(_OUTBOX.c.delivered_at.is_(None)).limit(1)
    return (await session.execute(stmt)).first() is not None


async def mark_dispatched(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> None:
    if ids:
        await session.execute(
            update(_OUTBOX).where(_OUTBOX.c.id.in_(list(ids))).values(delivered_at=now)
        )


# -- the senders ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery taken for one attempt: what to send, where, signed with which secrets."""

    id: str
    endpoint_id: str
    url: str
    secrets: tuple[str, ...] = field(repr=False)
    message_id: str
    event_type: str
    body: dict[str, Any]
    attempt: int
    give_up_at: datetime


def _endpoint_enabled() -> Any:
    """A disabled endpoint receives nothing; its pending deliveries wait for it."""
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    return WebhookDelivery.endpoint_id.in_(enabled)


def _no_earlier_pending() -> Any:
    """Deliveries of one entity to one endpoint go out in order: one waits while an earlier
    one (smaller ``seq``) of the same entity to the same endpoint is still pending."""
    earlier = aliased(WebhookDelivery)
    return ~exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.entity_id == WebhookDelivery.entity_id,
        earlier.seq < WebhookDelivery.seq,
        earlier.status == DeliveryStatus.PENDING.value,
    )


async def has_due(session: AsyncSession, *, now: datetime) -> bool:
    stmt = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            _endpoint_enabled(),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int, skip_locked: bool
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries for one attempt each: count the attempt and push
    ``next_attempt_at`` to ``lease_until``, so that if this process dies mid-send another one
    retries after the lease (same ``webhook-id``)."""
    stmt = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            _endpoint_enabled(),
            _no_earlier_pending(),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
        .limit(limit)
    )
    if skip_locked:
        stmt = stmt.with_for_update(of=WebhookDelivery, skip_locked=True)
    deliveries = list((await session.execute(stmt)).scalars())
    if not deliveries:
        return []
    endpoint_ids = {d.endpoint_id for d in deliveries}
    endpoints = {
        e.id: e
        for e in (
            await session.execute(
                select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids))
            )
        ).scalars()
    }
    claimed: list[ClaimedDelivery] = []
    for delivery in deliveries:
        endpoint = endpoints[delivery.endpoint_id]
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = lease_until
        claimed.append(
            ClaimedDelivery(
                id=delivery.id,
                endpoint_id=endpoint.id,
                url=endpoint.url,
                secrets=signing_secrets(endpoint, now),
                message_id=delivery.message_id,
                event_type=delivery.event_type,
                body=delivery.body,
                attempt=delivery.attempts,
                give_up_at=delivery.give_up_at,
            )
        )
    await session.flush()
    return claimed


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The secrets that sign now: the current one, and the previous one while its rotation
    overlap lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and expires is not None and now < expires:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """How an attempt ends: ``status`` the delivery's new status, ``next_attempt_at`` when a
    retry is due (``None`` when not pending)."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    status_code: int | None
    error: str | None
    at: datetime


async def record_attempt(
    session: AsyncSession, delivery_id: str, attempt: int, outcome: AttemptOutcome
) -> bool:
    """Write an attempt's outcome, only if no later attempt (or a resend) took the delivery
    meanwhile. Returns whether it was written."""
    values: dict[str, Any] = {
        "status": outcome.status.value,
        "next_attempt_at": outcome.next_attempt_at,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.status is DeliveryStatus.DELIVERED:
        values["delivered_at"] = outcome.at
    stmt = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id == delivery_id, _DELIVERIES.c.attempts == attempt)
        .values(**values)
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))
