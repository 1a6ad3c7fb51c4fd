"""HTTP endpoints for batches: ``POST /v1/batches`` (JSON or CSV), progress and payouts."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from tronpay.api import idempotency
from tronpay.api.errors import UnsupportedMediaType
from tronpay.api.responses import AUTH_ERRORS, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.batches import service
from tronpay.batches.parsing import parse_csv, parse_json
from tronpay.batches.schemas import CSV_COLUMNS, BatchCreateJSON, BatchOut
from tronpay.db.session import ReadSessionDep, SessionDep
from tronpay.kit.clock import utcnow
from tronpay.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tronpay.payouts import service as payout_service
from tronpay.payouts.endpoints import Ctx, actor_of
from tronpay.payouts.repository import PayoutFilters
from tronpay.payouts.schemas import PayoutList, PayoutOut
from tronpay.state import app_state

router = APIRouter(prefix="/v1/batches", tags=["batches"])

Reader = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_WRITE))]

_CSV_EXAMPLE = (
    "to,amount,asset,reference,memo\nTJRabPrwbZy45sbavfcjinPJC18kjpRTv8,10.5,USDT,inv-1,\n"
)
_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": BatchCreateJSON.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": _CSV_EXAMPLE,
                "description": "header row required: " + ",".join(CSV_COLUMNS),
            },
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=BatchOut,
    summary="Create many payouts at once (JSON items or CSV), all or nothing",
    openapi_extra=_REQUEST_BODY,
    responses={
        **AUTH_ERRORS,
        413: problem("The body is too large", "payload_too_large", 413),
        415: problem("Send application/json or text/csv", "unsupported_media_type", 415),
        422: problem("Invalid rows (every one listed)", "batch_invalid", 422),
    },
)
async def create_batch(
    *,
    request: Request,
    principal: Writer,
    ctx: Ctx,
    session: SessionDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="required: a retried upload replays the first batch instead of paying "
            "every row again",
        ),
    ] = None,
) -> JSONResponse:
    key = idempotency.check_key(idempotency_key, required=True)
    assert key is not None  # noqa: S101 - required=True guarantees it
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    max_rows = app_state(request.app).settings.max_batch_rows
    if content_type == "text/csv":
        parsed, source = parse_csv(body, max_rows=max_rows), "csv"
    elif content_type in ("application/json", ""):
        parsed, source = parse_json(body, max_rows=max_rows), "json"
    else:
        raise UnsupportedMediaType("send application/json or text/csv")
    now = utcnow()
    fingerprint = idempotency.request_hash(
        "batches.create", [source, hashlib.sha256(body).hexdigest()]
    )
    stored = await idempotency.claim(
        session,
        tenant=principal.tenant,
        subject=principal.subject,
        key=key,
        operation="batches.create",
        fingerprint=fingerprint,
        now=now,
    )
    if stored is not None:
        return JSONResponse(
            stored.body,
            status_code=stored.status,
            headers={idempotency.REPLAYED_HEADER: "true"},
        )
    result = await service.create_batch(
        session,
        ctx,
        parsed,
        source=source,
        actor=actor_of(request, principal),
        idempotency_key=key,
        now=now,
    )
    out = service.batch_out(result).model_dump(mode="json")
    await idempotency.store_response(
        session,
        tenant=principal.tenant,
        subject=principal.subject,
        key=key,
        status=201,
        body=out,
    )
    return JSONResponse(
        out, status_code=201, headers={"Location": f"/v1/batches/{result.batch.id}"}
    )


@router.get(
    "/{batch_id}",
    response_model=BatchOut,
    summary="Batch progress: counts and sums by status",
    responses={**AUTH_ERRORS, 404: problem("No such batch", "batch_not_found", 404)},
)
async def get_batch(batch_id: str, principal: Reader, session: ReadSessionDep) -> BatchOut:
    return service.batch_out(await service.get_batch(session, principal.tenant, batch_id))


@router.get(
    "/{batch_id}/payouts",
    response_model=PayoutList,
    summary="The payouts of a batch, newest first",
    responses={**AUTH_ERRORS, 404: problem("No such batch", "batch_not_found", 404)},
)
async def list_batch_payouts(
    *,
    batch_id: str,
    principal: Reader,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> PayoutList:
    await service.get_batch(session, principal.tenant, batch_id)
    page = await payout_service.list_payouts(
        session, principal.tenant, PayoutFilters(batch_id=batch_id), limit=limit, cursor=cursor
    )
    return PayoutList(
        items=[PayoutOut.from_model(p) for p in page.items], next_cursor=page.next_cursor
    )
