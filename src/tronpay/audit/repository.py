"""Reading the audit log: newest first, keyset pagination on ``seq``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.audit.models import AuditEntry
from tronpay.kit.pagination import InvalidCursor, Page


@dataclass(frozen=True, slots=True)
class AuditFilters:
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    principal: str | None = None


MAX_SEQ = 2**63 - 1


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"a:{seq}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode()).decode()
        prefix, _, number = raw.partition(":")
        seq = int(number)
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursor("cursor is not one this API returned") from exc
    # Strict: only the exact text encode_cursor makes, and a seq a BIGINT column can hold.
    if prefix != "a" or not 1 <= seq <= MAX_SEQ or encode_cursor(seq) != text:
        raise InvalidCursor("cursor is not one this API returned")
    return seq


async def list_entries(
    session: AsyncSession,
    filters: AuditFilters,
    *,
    tenant: str,
    limit: int,
    cursor: str | None,
) -> Page[AuditEntry]:
    """The entries of ``tenant``, newest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.tenant == tenant)
        .order_by(AuditEntry.seq.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        stmt = stmt.where(AuditEntry.seq < decode_cursor(cursor))
    if filters.entity_type is not None:
        stmt = stmt.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == filters.entity_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.principal is not None:
        stmt = stmt.where(AuditEntry.principal == filters.principal)
    entries = list((await session.execute(stmt)).scalars())
    next_cursor = encode_cursor(entries[limit - 1].seq) if len(entries) > limit else None
    return Page(items=entries[:limit], next_cursor=next_cursor)
