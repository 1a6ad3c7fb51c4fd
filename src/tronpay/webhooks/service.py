"""Webhook use cases: register, read, change, delete, rotate the secret, read the delivery
log, resend, ping. Services flush, never commit.

``WebhookContext`` carries what the service needs from the settings. Every call names the
tenant (``None``: the one shared tenant today); when tenancy lands the endpoints pass the
caller's tenant here and nothing below changes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.config import Settings
from tronpay.kit.ids import new_id
from tronpay.kit.pagination import Page
from tronpay.webhooks import repository
from tronpay.webhooks.destinations import parse_destination, resolve
from tronpay.webhooks.errors import DeliveryNotFound, WebhookNotFound, WebhookUrlRefused
from tronpay.webhooks.events import PING_TYPE, message_body
from tronpay.webhooks.models import WebhookDelivery, WebhookEndpoint
from tronpay.webhooks.repository import DeliveryStatus
from tronpay.webhooks.schemas import WebhookCreate, WebhookUpdate
from tronpay.webhooks.signing import new_secret

log = structlog.get_logger(__name__)

# A registration waits at most this long for DNS.
RESOLVE_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class WebhookContext:
    """Destination rules and the retry window, from the settings."""

    allow_http: bool
    allow_private: bool
    retry_for: timedelta
    tenant: str | None = repository.SHARED_TENANT

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookContext:
        return cls(
            allow_http=not settings.is_production,
            allow_private=settings.webhook_allow_private,
            retry_for=timedelta(seconds=settings.webhook_retry_for_s),
        )


async def check_url(ctx: WebhookContext, url: str) -> None:
    """Refuse a URL that is malformed, not https (in production) or that resolves to a
    forbidden address now (it is checked again before every attempt)."""
    destination = parse_destination(url, allow_http=ctx.allow_http)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            await resolve(destination, allow_private=ctx.allow_private)
    except TimeoutError:
        raise WebhookUrlRefused(f"the host {destination.host} did not resolve in time") from None


async def register(
    session: AsyncSession, ctx: WebhookContext, data: WebhookCreate, *, actor: str, now: datetime
) -> WebhookEndpoint:
    await check_url(ctx, data.url)
    endpoint = WebhookEndpoint(
        id=new_id("wh"),
        tenant=ctx.tenant,
        url=data.url,
        description=data.description,
        events=None if data.events is None else sorted({e.value for e in data.events}),
        enabled=True,
        secret=new_secret(),
        previous_secret=None,
        previous_secret_expires_at=None,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    await repository.add_endpoint(session, endpoint)
    log.info("webhook.registered", webhook_id=endpoint.id, principal=actor)
    return endpoint


async def get(session: AsyncSession, ctx: WebhookContext, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, endpoint_id, tenant=ctx.tenant)
    if endpoint is None:
        raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def list_all(session: AsyncSession, ctx: WebhookContext) -> list[WebhookEndpoint]:
    return await repository.list_endpoints(session, tenant=ctx.tenant)


async def update(
    session: AsyncSession,
    ctx: WebhookContext,
    endpoint_id: str,
    data: WebhookUpdate,
    *,
    now: datetime,
) -> WebhookEndpoint:
    endpoint = await get(session, ctx, endpoint_id)
    given = data.model_fields_set
    if "url" in given and data.url is not None:
        await check_url(ctx, data.url)
        endpoint.url = data.url
    if "events" in given:
        endpoint.events = None if data.events is None else sorted({e.value for e in data.events})
    if "description" in given:
        endpoint.description = data.description
    if "enabled" in given and data.enabled is not None:
        endpoint.enabled = data.enabled
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def remove(session: AsyncSession, ctx: WebhookContext, endpoint_id: str) -> None:
    endpoint = await get(session, ctx, endpoint_id)
    await repository.delete_endpoint(session, endpoint)
    log.info("webhook.deleted", webhook_id=endpoint_id)


async def rotate_secret(
    session: AsyncSession,
    ctx: WebhookContext,
    endpoint_id: str,
    *,
    overlap: timedelta,
    now: datetime,
) -> WebhookEndpoint:
    """A new secret signs from now on; the current one keeps signing beside it for
    ``overlap`` (zero: it stops at once)."""
    endpoint = await get(session, ctx, endpoint_id)
    if overlap > timedelta(0):
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    await session.flush()
    log.info("webhook.secret_rotated", webhook_id=endpoint_id, overlap_s=overlap.total_seconds())
    return endpoint


async def deliveries(
    session: AsyncSession,
    ctx: WebhookContext,
    endpoint_id: str,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[WebhookDelivery]:
    await get(session, ctx, endpoint_id)
    return await repository.list_deliveries(
        session, endpoint_id, status=status, limit=limit, cursor=cursor
    )


async def resend(
    session: AsyncSession, ctx: WebhookContext, endpoint_id: str, delivery_id: str, *, now: datetime
) -> WebhookDelivery:
    """Send a delivery again (same ``webhook-id`` and body), now, with a fresh retry window."""
    await get(session, ctx, endpoint_id)
    delivery = await repository.get_delivery(session, endpoint_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"no delivery {delivery_id} for webhook endpoint {endpoint_id}")
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    delivery.give_up_at = now + ctx.retry_for
    await session.flush()
    log.info("webhook.delivery.resend", webhook_id=endpoint_id, delivery_id=delivery_id)
    return delivery


async def ping(
    session: AsyncSession, ctx: WebhookContext, endpoint_id: str, *, now: datetime
) -> WebhookDelivery:
    """Queue a ``webhook.test`` message to one endpoint (delivered like any other)."""
    endpoint = await get(session, ctx, endpoint_id)
    message_id = new_id("msg")
    data: dict[str, Any] = {"webhook_id": endpoint.id}
    row = delivery_row(
        endpoint_id=endpoint.id,
        message_id=message_id,
        seq=0,
        event_type=PING_TYPE,
        entity_id=None,
        body=message_body(PING_TYPE, now, data),
        now=now,
        retry_for=ctx.retry_for,
    )
    await repository.insert_deliveries(session, [row])
    delivery = await repository.get_delivery(session, endpoint.id, row["id"])
    assert delivery is not None  # noqa: S101 - inserted just above
    return delivery


def delivery_row(
    *,
    endpoint_id: str,
    message_id: str,
    seq: int,
    event_type: str,
    entity_id: str | None,
    body: dict[str, Any],
    now: datetime,
    retry_for: timedelta,
) -> dict[str, Any]:
    """A new pending delivery, due now."""
    return {
        "id": new_id("dlv"),
        "endpoint_id": endpoint_id,
        "message_id": message_id,
        "seq": seq,
        "event_type": event_type,
        "entity_id": entity_id,
        "body": body,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "give_up_at": now + retry_for,
        "last_attempt_at": None,
        "last_status_code": None,
        "last_error": None,
        "delivered_at": None,
        "created_at": now,
    }
