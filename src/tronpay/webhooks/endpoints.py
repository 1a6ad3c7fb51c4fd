"""HTTP endpoints for webhooks (scope ``webhooks:admin``). Thin: parse, authorize, call the
service."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from tronpay.api.responses import AUTH_ERRORS, VALIDATION_ERROR, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.db.session import ReadSessionDep, SessionDep
from tronpay.kit.clock import utcnow
from tronpay.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tronpay.state import app_state
from tronpay.webhooks import service
from tronpay.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    SecretRotate,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)
from tronpay.webhooks.service import WebhookContext

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Admin = Annotated[Principal, Depends(require_scopes(Scope.WEBHOOKS_ADMIN))]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem("No such webhook endpoint", "webhook_not_found", 404)
}
URL_REFUSED: dict[int | str, dict[str, Any]] = {
    422: problem("The URL is not an allowed destination", "webhook_url_refused", 422)
}


async def webhook_context(request: Request, principal: Admin) -> WebhookContext:
    """The destination rules from the settings; the caller's tenant owns what it touches."""
    context = WebhookContext.from_settings(app_state(request.app).settings)
    return replace(context, tenant=principal.tenant)


Ctx = Annotated[WebhookContext, Depends(webhook_context)]


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register a webhook endpoint (its signing secret is shown only in this answer)",
    responses={**AUTH_ERRORS, **VALIDATION_ERROR, **URL_REFUSED},
)
async def create_webhook(
    body: WebhookCreate, principal: Admin, ctx: Ctx, session: SessionDep
) -> WebhookCreated:
    endpoint = await service.register(session, ctx, body, actor=principal.subject, now=utcnow())
    return WebhookCreated.with_secret(endpoint)


@router.get("", response_model=WebhookList, summary="List webhook endpoints", responses=AUTH_ERRORS)
async def list_webhooks(_principal: Admin, ctx: Ctx, session: ReadSessionDep) -> WebhookList:
    endpoints = await service.list_all(session, ctx)
    return WebhookList(items=[WebhookOut.from_model(e) for e in endpoints])


@router.get(
    "/{webhook_id}",
    response_model=WebhookOut,
    summary="Get one webhook endpoint",
    responses={**AUTH_ERRORS, **NOT_FOUND},
)
async def get_webhook(
    webhook_id: str, _principal: Admin, ctx: Ctx, session: ReadSessionDep
) -> WebhookOut:
    return WebhookOut.from_model(await service.get(session, ctx, webhook_id))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    summary="Change a webhook endpoint's URL, events, description or enabled flag",
    responses={**AUTH_ERRORS, **NOT_FOUND, **URL_REFUSED},
)
async def update_webhook(
    webhook_id: str, body: WebhookUpdate, _principal: Admin, ctx: Ctx, session: SessionDep
) -> WebhookOut:
    endpoint = await service.update(session, ctx, webhook_id, body, now=utcnow())
    return WebhookOut.from_model(endpoint)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook endpoint and its delivery log",
    responses={**AUTH_ERRORS, **NOT_FOUND},
)
async def delete_webhook(
    webhook_id: str, _principal: Admin, ctx: Ctx, session: SessionDep
) -> Response:
    await service.remove(session, ctx, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=SecretRotated,
    summary="Replace the signing secret; the old one keeps signing for the overlap",
    responses={**AUTH_ERRORS, **NOT_FOUND, **VALIDATION_ERROR},
)
async def rotate_secret(
    webhook_id: str,
    _principal: Admin,
    ctx: Ctx,
    session: SessionDep,
    body: SecretRotate | None = None,
) -> SecretRotated:
    overlap = timedelta(seconds=(body or SecretRotate()).overlap_seconds)
    endpoint = await service.rotate_secret(session, ctx, webhook_id, overlap=overlap, now=utcnow())
    return SecretRotated(
        secret=endpoint.secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a webhook.test message to this endpoint",
    responses={**AUTH_ERRORS, **NOT_FOUND},
)
async def ping_webhook(
    webhook_id: str, _principal: Admin, ctx: Ctx, session: SessionDep
) -> DeliveryOut:
    return DeliveryOut.from_model(await service.ping(session, ctx, webhook_id, now=utcnow()))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryList,
    summary="The delivery log of an endpoint, newest first",
    responses={**AUTH_ERRORS, **NOT_FOUND, **VALIDATION_ERROR},
)
async def list_deliveries(
    *,
    webhook_id: str,
    _principal: Admin,
    ctx: Ctx,
    session: ReadSessionDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> DeliveryList:
    page = await service.deliveries(
        session, ctx, webhook_id, status=status, limit=limit, cursor=cursor
    )
    return DeliveryList(
        items=[DeliveryOut.from_model(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/resend",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again now (same webhook-id and body)",
    responses={
        **AUTH_ERRORS,
        404: problem("No such delivery", "webhook_delivery_not_found", 404),
    },
)
async def resend_delivery(
    webhook_id: str, delivery_id: str, _principal: Admin, ctx: Ctx, session: SessionDep
) -> DeliveryOut:
    delivery = await service.resend(session, ctx, webhook_id, delivery_id, now=utcnow())
    return DeliveryOut.from_model(delivery)
