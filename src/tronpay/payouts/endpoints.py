"""HTTP endpoints for payouts (docs/api.md). Thin: parse, authorize, call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from tronpay.api import idempotency
from tronpay.api.problems import request_id_of
from tronpay.api.readiness import NotReady
from tronpay.api.responses import AUTH_ERRORS, CONFLICT, NOT_FOUND, VALIDATION_ERROR, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.db.session import ReadSessionDep, SessionDep
from tronpay.kit.clock import utcnow
from tronpay.kit.money import parse_amount
from tronpay.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tronpay.payouts import service
from tronpay.payouts.quote import QuoteOut, QuoteRequest
from tronpay.payouts.repository import PayoutFilters
from tronpay.payouts.schemas import PayoutCreate, PayoutList, PayoutOut, QueryTime
from tronpay.payouts.service import PayoutContext
from tronpay.payouts.states import Actor, PayoutStatus
from tronpay.payouts.writer import respond_headers
from tronpay.state import app_state

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])

Reader = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_WRITE))]
Approver = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_APPROVE))]


def actor_of(request: Request, principal: Principal) -> Actor:
    """The caller of a request as the ``Actor`` of the changes it makes."""
    return Actor(
        principal=principal.subject,
        request_id=request_id_of(request),
        tenant=principal.tenant,
        crossing=principal.crossing,
    )


async def payout_context(request: Request) -> PayoutContext:
    return app_state(request.app).payout_context


Ctx = Annotated[PayoutContext, Depends(payout_context)]


@router.post(
    "/quote",
    response_model=QuoteOut,
    summary="Quote the fee and energy of a payout (no side effects)",
    responses={
        **AUTH_ERRORS,
        **VALIDATION_ERROR,
        409: problem("The hot wallet cannot fund even an estimate", "quote_unavailable", 409),
        503: problem("No node answers or no hot wallet is configured", "not_ready", 503),
    },
)
async def quote_payout(body: QuoteRequest, request: Request, _principal: Reader) -> QuoteOut:
    state = app_state(request.app)
    if state.quoter is None:
        raise NotReady("quotes need a node and a hot wallet address")
    quote = await service.quote_payout(
        state.payout_context,
        state.quoter,
        body.asset.value,
        body.to,
        parse_amount(body.amount),
    )
    return QuoteOut.of(quote)


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
    state = app_state(request.app)
    outcome = await service.create_payout(
        state.payout_context,
        state.payout_writer,
        body,
        actor=actor_of(request, principal),
        key=key,
    )
    if outcome.error is not None:
        raise outcome.error
    if outcome.failure is not None:
        # One failure may answer a whole group: raise a fresh error per request (a 500).
        raise RuntimeError("the payout could not be written") from outcome.failure
    return JSONResponse(outcome.body, status_code=outcome.status, headers=respond_headers(outcome))


@router.get(
    "",
    response_model=PayoutList,
    summary="List payouts, newest first",
    responses={**AUTH_ERRORS, **VALIDATION_ERROR},
)
async def list_payouts(
    *,
    principal: Reader,
    session: ReadSessionDep,
    status: PayoutStatus | None = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
    batch_id: Annotated[str | None, Query(max_length=64)] = None,
    reference: Annotated[str | None, Query(max_length=200)] = None,
    created_after: QueryTime | None = None,
    created_before: QueryTime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> PayoutList:
    filters = PayoutFilters(
        status=status.value if status else None,
        to_address=to,
        batch_id=batch_id,
        reference=reference,
        created_after=created_after,
        created_before=created_before,
    )
    page = await service.list_payouts(
        session, principal.tenant, filters, limit=limit, cursor=cursor
    )
    return PayoutList(
        items=[PayoutOut.from_model(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{payout_id}",
    response_model=PayoutOut,
    summary="Get one payout",
    responses={**AUTH_ERRORS, **NOT_FOUND},
)
async def get_payout(
    request: Request, payout_id: str, principal: Reader, session: ReadSessionDep
) -> PayoutOut:
    payout = await service.get_payout(session, principal.tenant, payout_id)
    shown = PayoutOut.from_model(payout)
    node = app_state(request.app).chain.node
    progress = await service.confirmation_progress(session, node, payout)
    if progress is None:
        return shown
    return shown.model_copy(
        update={"confirmations": progress.count, "confirmations_required": progress.required}
    )


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
        403: problem(
            "The creator, or a caller of another tenant, cannot approve",
            "approver_is_creator",
            403,
        ),
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
