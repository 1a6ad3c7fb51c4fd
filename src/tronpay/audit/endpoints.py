"""``GET /v1/audit`` (scope ``audit:read``): the audit log of the caller's tenant, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tronpay.audit.repository import AuditFilters, list_entries
from tronpay.audit.schemas import AuditEntryOut, AuditPage
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.db.session import ReadSessionDep
from tronpay.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/v1/audit", tags=["audit"])

AuditReader = Annotated[Principal, Depends(require_scopes(Scope.AUDIT_READ))]


@router.get("", response_model=AuditPage, summary="List audit entries, newest first")
async def list_audit(
    *,
    reader: AuditReader,
    session: ReadSessionDep,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    principal: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> AuditPage:
    page = await list_entries(
        session,
        AuditFilters(
            entity_type=entity_type, entity_id=entity_id, action=action, principal=principal
        ),
        tenant=reader.tenant,
        limit=limit,
        cursor=cursor,
    )
    return AuditPage(
        items=[AuditEntryOut.from_model(entry) for entry in page.items],
        next_cursor=page.next_cursor,
    )
