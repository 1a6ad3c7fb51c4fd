"""HTTP endpoints for payouts (DESIGN §3.2). Thin: parse, authorize, call the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from tronpay.api import idempotency
from tronpay.api.deps import actor_of, as_utc
from tronpay.api.problems import request_id_of
from tronpay.api.responses import AUTH_ERRORS, CONFLICT, NOT_FOUND, VALIDATION_ERROR, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.db.session import ReadSessionDep, SessionDep
from tronpay.kit.clock import utcnow
from tronpay.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tronpay.payouts import service
from tronpay.payouts.repository import PayoutFilters
from tronpay.payouts.schemas import PayoutCreate, PayoutList, PayoutOut
from tronpay.payouts.service import PayoutContext
from tronpay.payouts.states import Actor, PayoutStatus
from tronpay.payouts.writer import (
    OPERATION,
    CreateIntent,
    CreateOutcome,
    PayoutWriter,
    create_one,
    respond_headers,
)

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])

Reader = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_WRITE))]
Approver = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_APPROVE))]


async def payout_context(request: Request) -> PayoutContext:
    ctx: PayoutContext = request.app.state.payout_context
    return ctx


Ctx = Annotated[PayoutContext, Depends(payout_context)]


@router.post(
    "",
    status_code=201,
    response_model=PayoutOut,
    summary="Create a payout",
    responses={
        **AUTH_ERRORS,
        **VALIDATION_ERROR,
        409: problem("The reference is already used", "duplicate_reference", 409),
        200: {"description": "Replay of the first response to this Idempotency-Key"},
    },
)
async def create_payout(
    *,
    request: Request,
    body: PayoutCreate,
    principal: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="required; retries with the same key and body replay the first response",
        ),
    ] = None,
) -> JSONResponse:
    key = idempotency.check_key(idempotency_key, required=True)
    assert key is not None  # noqa: S101 - required=True guarantees it
    outcome = await submit_create(
        request.app.state, body, principal=principal, request_id=request_id_of(request), key=key
    )
    if outcome.error is not None:
        raise outcome.error
    if outcome.failure is not None:
        # One failure may answer a whole group: raise a fresh error per request (a 500).
        raise RuntimeError("the payout could not be written") from outcome.failure
    return JSONResponse(outcome.body, status_code=outcome.status, headers=respond_headers(outcome))


async def submit_create(
    state: Any, body: PayoutCreate, *, principal: Principal, request_id: str | None, key: str
) -> CreateOutcome:
    """Everything ``POST /v1/payouts`` does once the request is authenticated and valid
    (shared by the endpoint and ``tronpay.payouts.fastlane``)."""
    now = utcnow()
    ctx: PayoutContext = state.payout_context
    await service.check_contract(ctx, body.to, body.asset.value)
    actor = Actor(principal=principal.subject, request_id=request_id)
    # Everything is decided here, before any write (id, status, timestamps, the response);
    # the writer commits it together with other requests' creates (group commit).
    intent = CreateIntent(
        subject=principal.subject,
        key=key,
        fingerprint=idempotency.request_hash(OPERATION, body.model_dump(mode="json")),
        payout=service.prepare_payout(ctx, body, actor=actor, idempotency_key=key, now=now),
        actor=actor,
        now=now,
    )
    writer: PayoutWriter | None = getattr(state, "payout_writer", None)
    if writer is not None:
        return await writer.submit(intent)
    return await create_one(state.sessionmaker, ctx, intent)


@router.get(
    "",
    response_model=PayoutList,
    summary="List payouts, newest first",
    responses={**AUTH_ERRORS, **VALIDATION_ERROR},
)
async def list_payouts(
    *,
    _principal: Reader,
    session: ReadSessionDep,
    status: PayoutStatus | None = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
    batch_id: Annotated[str | None, Query(max_length=64)] = None,
    reference: Annotated[str | None, Query(max_length=200)] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> PayoutList:
    filters = PayoutFilters(
        status=status.value if status else None,
        to_address=to,
        batch_id=batch_id,
        reference=reference,
        created_after=as_utc(created_after),
        created_before=as_utc(created_before),
    )
    page = await service.list_payouts(session, filters, limit=limit, cursor=cursor)
    return PayoutList(
        items=[PayoutOut.from_model(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{payout_id}",
    response_model=PayoutOut,
    summary="Get one payout",
    responses={**AUTH_ERRORS, **NOT_FOUND},
)
async def get_payout(payout_id: str, _principal: Reader, session: ReadSessionDep) -> PayoutOut:
    return PayoutOut.from_model(await service.get_payout(session, payout_id))


@router.post(
    "/{payout_id}/cancel",
    response_model=PayoutOut,
    summary="Cancel a payout that was not submitted yet",
    responses={**AUTH_ERRORS, **NOT_FOUND, **CONFLICT},
)
async def cancel_payout(
    request: Request, payout_id: str, principal: Writer, ctx: Ctx, session: SessionDep
) -> PayoutOut:
    payout = await service.cancel_payout(
        session, ctx, payout_id, actor=actor_of(request, principal), now=utcnow()
    )
    return PayoutOut.from_model(payout)


@router.post(
    "/{payout_id}/approve",
    response_model=PayoutOut,
    summary="Approve a payout waiting for a second person (four eyes)",
    responses={
        **AUTH_ERRORS,
        **NOT_FOUND,
        **CONFLICT,
        403: problem("The creator cannot approve", "approver_is_creator", 403),
    },
)
async def approve_payout(
    request: Request, payout_id: str, principal: Approver, session: SessionDep
) -> PayoutOut:
    payout = await service.approve_payout(
        session, payout_id, actor=actor_of(request, principal), now=utcnow()
    )
    return PayoutOut.from_model(payout)


@router.post(
    "/{payout_id}/retry",
    response_model=PayoutOut,
    summary="Queue a failed payout again",
    responses={**AUTH_ERRORS, **NOT_FOUND, **CONFLICT},
)
async def retry_payout(
    request: Request, payout_id: str, principal: Writer, ctx: Ctx, session: SessionDep
) -> PayoutOut:
    payout = await service.retry_payout(
        session, ctx, payout_id, actor=actor_of(request, principal), now=utcnow()
    )
    return PayoutOut.from_model(payout)
