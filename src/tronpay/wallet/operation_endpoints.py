"""Staking operations (scope ``wallet:admin``, audited): ``POST /v1/wallet/stake``, ``/unstake``,
``/withdraw-unstaked``, ``/cancel-unstakes``, ``/delegate``, ``/undelegate``, each with a
required ``Idempotency-Key``; and ``GET /v1/wallet/operations[/{id}]`` (scope ``wallet:read``).

A POST records the operation as ``queued`` and answers 202; the engine signs, persists,
broadcasts and follows its one transaction. The same key with the same body replays the first
answer; with another body it is a 422 ``idempotency_key_reused``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tronpay.api import idempotency
from tronpay.api.problems import request_id_of
from tronpay.api.readiness import NotReady
from tronpay.api.responses import AUTH_ERRORS, VALIDATION_ERROR, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.db.session import ReadSessionDep, SessionDep
from tronpay.kit.clock import utcnow
from tronpay.kit.money import parse_amount
from tronpay.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tronpay.state import app_state
from tronpay.wallet import operations
from tronpay.wallet.models import OperationKind, OperationStatus
from tronpay.wallet.operation_schemas import (
    DelegateRequest,
    EmptyRequest,
    OperationList,
    OperationOut,
    StakeRequest,
    UndelegateRequest,
    UnstakeRequest,
)

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])

Admin = Annotated[Principal, Depends(require_scopes(Scope.WALLET_ADMIN))]
Reader = Annotated[Principal, Depends(require_scopes(Scope.WALLET_READ))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="required: a retry replays the first answer instead of staking twice",
    ),
]
_POST_RESPONSES: dict[int | str, dict[str, object]] = {
    **AUTH_ERRORS,
    **VALIDATION_ERROR,
    503: problem("No hot wallet is configured", "not_ready", 503),
}


def _hot_wallet(request: Request) -> str:
    runtime = app_state(request.app).chain
    if runtime.hot_wallet is None:
        raise NotReady("staking needs a hot wallet address")
    return runtime.hot_wallet


async def _submit(
    *,
    request: Request,
    principal: Principal,
    session: SessionDep,
    key_header: str | None,
    body: BaseModel,
    req: operations.OperationRequest,
) -> JSONResponse:
    key = idempotency.check_key(key_header, required=True)
    assert key is not None  # noqa: S101 - required=True guarantees it
    hot_wallet = _hot_wallet(request)
    now = utcnow()
    operation = f"wallet.{req.kind.value}"
    stored = await idempotency.claim(
        session,
        tenant=principal.tenant,
        subject=principal.subject,
        key=key,
        operation=operation,
        fingerprint=idempotency.request_hash(operation, body.model_dump(mode="json")),
        now=now,
    )
    if stored is not None:
        return JSONResponse(
            stored.body, status_code=stored.status, headers={idempotency.REPLAYED_HEADER: "true"}
        )
    op = await operations.queue(
        session,
        req,
        actor=operations.Actor(principal.subject, request_id_of(request)),
        idempotency_key=key,
        hot_wallet=hot_wallet,
        now=now,
    )
    out = OperationOut.of(op).model_dump(mode="json")
    await idempotency.store_response(
        session, tenant=principal.tenant, subject=principal.subject, key=key, status=202, body=out
    )
    return JSONResponse(
        out, status_code=202, headers={"Location": f"/v1/wallet/operations/{op.id}"}
    )


def _sun(text: str) -> int:
    return parse_amount(text)


@router.post(
    "/stake",
    status_code=202,
    response_model=OperationOut,
    summary="Stake TRX for energy or bandwidth (FreezeBalanceV2)",
    responses=_POST_RESPONSES,
)
async def stake(
    body: StakeRequest,
    request: Request,
    principal: Admin,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = operations.OperationRequest(
        OperationKind.STAKE, resource=body.resource.value, amount_sun=_sun(body.amount)
    )
    return await _submit(
        request=request,
        principal=principal,
        session=session,
        key_header=idempotency_key,
        body=body,
        req=req,
    )


@router.post(
    "/unstake",
    status_code=202,
    response_model=OperationOut,
    summary="Start unstaking TRX (UnfreezeBalanceV2; withdrawable 14 days later)",
    responses=_POST_RESPONSES,
)
async def unstake(
    body: UnstakeRequest,
    request: Request,
    principal: Admin,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = operations.OperationRequest(
        OperationKind.UNSTAKE, resource=body.resource.value, amount_sun=_sun(body.amount)
    )
    return await _submit(
        request=request,
        principal=principal,
        session=session,
        key_header=idempotency_key,
        body=body,
        req=req,
    )


@router.post(
    "/withdraw-unstaked",
    status_code=202,
    response_model=OperationOut,
    summary="Withdraw unstaked TRX whose wait is over (WithdrawExpireUnfreeze)",
    responses=_POST_RESPONSES,
)
async def withdraw_unstaked(
    request: Request,
    principal: Admin,
    session: SessionDep,
    body: EmptyRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = operations.OperationRequest(OperationKind.WITHDRAW_UNSTAKED)
    return await _submit(
        request=request,
        principal=principal,
        session=session,
        key_header=idempotency_key,
        body=body or EmptyRequest(),
        req=req,
    )


@router.post(
    "/cancel-unstakes",
    status_code=202,
    response_model=OperationOut,
    summary="Put every pending unstake back into stake (CancelAllUnfreezeV2)",
    responses=_POST_RESPONSES,
)
async def cancel_unstakes(
    request: Request,
    principal: Admin,
    session: SessionDep,
    body: EmptyRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = operations.OperationRequest(OperationKind.CANCEL_UNSTAKES)
    return await _submit(
        request=request,
        principal=principal,
        session=session,
        key_header=idempotency_key,
        body=body or EmptyRequest(),
        req=req,
    )


@router.post(
    "/delegate",
    status_code=202,
    response_model=OperationOut,
    summary="Delegate the resource of staked TRX to another account (DelegateResource)",
    responses=_POST_RESPONSES,
)
async def delegate(
    body: DelegateRequest,
    request: Request,
    principal: Admin,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = operations.OperationRequest(
        OperationKind.DELEGATE,
        resource=body.resource.value,
        amount_sun=_sun(body.amount),
        receiver=body.receiver,
        lock=body.lock,
        lock_period=body.lock_period,
    )
    return await _submit(
        request=request,
        principal=principal,
        session=session,
        key_header=idempotency_key,
        body=body,
        req=req,
    )


@router.post(
    "/undelegate",
    status_code=202,
    response_model=OperationOut,
    summary="Take back a delegation (UnDelegateResource)",
    responses=_POST_RESPONSES,
)
async def undelegate(
    body: UndelegateRequest,
    request: Request,
    principal: Admin,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    req = operations.OperationRequest(
        OperationKind.UNDELEGATE,
        resource=body.resource.value,
        amount_sun=_sun(body.amount),
        receiver=body.receiver,
    )
    return await _submit(
        request=request,
        principal=principal,
        session=session,
        key_header=idempotency_key,
        body=body,
        req=req,
    )


@router.get(
    "/operations/{operation_id}",
    response_model=OperationOut,
    summary="One staking operation and its status",
    responses={
        **AUTH_ERRORS,
        404: problem("No such operation", "wallet_operation_not_found", 404),
    },
)
async def get_operation(
    operation_id: str, _principal: Reader, session: ReadSessionDep
) -> OperationOut:
    return OperationOut.of(await operations.get(session, operation_id))


@router.get(
    "/operations",
    response_model=OperationList,
    summary="Staking operations, newest first",
    responses=AUTH_ERRORS,
)
async def list_operations(
    *,
    _principal: Reader,
    session: ReadSessionDep,
    status: OperationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> OperationList:
    page = await operations.list_operations(
        session, status=status.value if status else None, limit=limit, cursor=cursor
    )
    return OperationList(
        items=[OperationOut.of(op) for op in page.items], next_cursor=page.next_cursor
    )
