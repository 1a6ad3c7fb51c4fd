"""API shapes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tronpay.audit.models import AuditEntry
from tronpay.kit.clock import as_utc


class AuditEntryOut(BaseModel):
    seq: int = Field(description="chain position, 1, 2, 3, ... without gaps")
    tenant: str = Field(description="the tenant whose data the entry is about")
    created_at: datetime = Field(description="UTC, written with Z like every API time")
    principal: str
    request_id: str | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str

    @classmethod
    def from_model(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            seq=entry.seq,
            tenant=entry.tenant,
            created_at=as_utc(entry.created_at),
            principal=entry.principal,
            request_id=entry.request_id,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            before=entry.before,
            after=entry.after,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= to get the next (older) page")
