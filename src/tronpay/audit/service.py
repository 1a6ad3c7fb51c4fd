"""Writing and verifying the audit chain.

``record`` / ``record_many`` take the next chain position under a lock on the single
``audit_chain_head`` row (an UPDATE: a row lock on PostgreSQL, the write lock on SQLite),
so concurrent writers queue instead of forking the chain. The lock is held until the
caller's transaction ends: call ``record`` late in the transaction (after policy checks).
Only flushes; the edge commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Row, Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.audit.hashing import entry_hash, normalize
from tronpay.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from tronpay.db.session import bulk_insert
from tronpay.kit.clock import utc_or_now
from tronpay.kit.tenants import DEFAULT_TENANT

log = structlog.get_logger(__name__)

HEAD_ID = 1
VERIFY_PAGE = 2000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry for ``record_many``."""

    action: str
    principal: str
    entity_type: str
    entity_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    request_id: str | None = None
    tenant: str = DEFAULT_TENANT


@dataclass(frozen=True, slots=True)
class AuditAppend:
    """What ``record_many`` wrote: chain positions ``first_seq..last_seq``."""

    first_seq: int
    last_seq: int
    head_hash: str

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1 if self.last_seq >= self.first_seq else 0


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """``first_broken`` is the chain position (seq) where the chain stops being valid."""

    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str | None = None


_HEAD = cast(Table, AuditChainHead.__table__)
_ENTRIES = cast(Table, AuditEntry.__table__)
# Prebuilt Core statements: no ORM bookkeeping on the hot path.
_LOCK_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == HEAD_ID)
    .values(seq=_HEAD.c.seq)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_STORE_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == HEAD_ID)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_INSERT_ENTRY = _ENTRIES.insert()


async def _lock_head(session: AsyncSession) -> tuple[int, str]:
    """Lock the chain head and return (last seq, last hash); create it on first use."""
    row = (await session.execute(_LOCK_HEAD)).first()
    if row is None:
        values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS_HASH}
        if session.get_bind().dialect.name == "postgresql":
            stmt: Any = pg_insert(_HEAD).values(**values).on_conflict_do_nothing()
        else:
            stmt = sqlite_insert(_HEAD).values(**values).on_conflict_do_nothing()
        await session.execute(stmt)
        row = (await session.execute(_LOCK_HEAD)).one()
    return int(row[0]), str(row[1])


async def _store_head(session: AsyncSession, seq: int, hash_: str) -> None:
    await session.execute(_STORE_HEAD, {"new_seq": seq, "new_hash": hash_})


def _row(*, seq: int, prev_hash: str, created_at: datetime, item: AuditRecord) -> dict[str, Any]:
    before = normalize(item.before)
    after = normalize(item.after)
    fields: dict[str, Any] = {
        "seq": seq,
        "created_at": created_at,
        "principal": item.principal,
        "request_id": item.request_id,
        "action": item.action,
        "entity_type": item.entity_type,
        "entity_id": str(item.entity_id),
        "before": before,
        "after": after,
        "tenant": item.tenant,
    }
    fields["hash"] = entry_hash(prev_hash=prev_hash, **fields)
    fields["prev_hash"] = prev_hash
    return fields


async def record(
    session: AsyncSession,
    *,
    action: str,
    principal: str,
    request_id: str | None,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    now: datetime | None = None,
    tenant: str = DEFAULT_TENANT,
) -> AuditEntry:
    """Append one entry to the chain (in the caller's transaction) and return it.

    The returned ``AuditEntry`` is a transient copy of what was written (its ``id`` is not
    loaded); ``seq`` and ``hash`` are final once the transaction commits.
    """
    created_at = utc_or_now(now)
    last_seq, last_hash = await _lock_head(session)
    item = AuditRecord(
        action=action,
        principal=principal,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        request_id=request_id,
        tenant=tenant,
    )
    fields = _row(seq=last_seq + 1, prev_hash=last_hash, created_at=created_at, item=item)
    await session.execute(_INSERT_ENTRY, fields)
    await _store_head(session, fields["seq"], fields["hash"])
    # A transient copy (not attached to the session; ``id`` is not loaded).
    return AuditEntry(**fields)


async def record_many(
    session: AsyncSession, items: Sequence[AuditRecord], *, now: datetime | None = None
) -> AuditAppend:
    """Append many entries with one head lock and one bulk insert (batches of 10,000)."""
    created_at = utc_or_now(now)
    last_seq, last_hash = await _lock_head(session)
    if not items:
        return AuditAppend(first_seq=last_seq + 1, last_seq=last_seq, head_hash=last_hash)
    rows: list[dict[str, Any]] = []
    prev_hash = last_hash
    for offset, item in enumerate(items, start=1):
        fields = _row(seq=last_seq + offset, prev_hash=prev_hash, created_at=created_at, item=item)
        rows.append(fields)
        prev_hash = fields["hash"]
    await bulk_insert(await session.connection(), _ENTRIES, rows)
    final_seq = last_seq + len(rows)
    await _store_head(session, final_seq, prev_hash)
    return AuditAppend(first_seq=last_seq + 1, last_seq=final_seq, head_hash=prev_hash)


async def verify_chain(session: AsyncSession, *, page_size: int = VERIFY_PAGE) -> ChainVerification:
    """Walk the chain in order and report the first broken link.

    Detects an edited row (its hash no longer matches its content), a deleted row (a gap in
    the positions, or a tail shorter than the head row says), and reordered rows (content
    moved to another position no longer hashes to that position, or its ``prev_hash`` no
    longer names its predecessor).
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    while True:
        table = AuditEntry.__table__
        result = await session.execute(
            select(table).where(table.c.seq >= expected_seq).order_by(table.c.seq).limit(page_size)
        )
        entries = list(result)
        for entry in entries:
            broken = _check(entry, expected_seq=expected_seq, prev_hash=prev_hash)
            if broken is not None:
                return ChainVerification(
                    ok=False, checked=checked, first_broken=expected_seq, reason=broken
                )
            checked += 1
            prev_hash = entry.hash
            expected_seq += 1
        if len(entries) < page_size:
            break
    head = (
        await session.execute(select(AuditChainHead).where(AuditChainHead.id == HEAD_ID))
    ).scalar_one_or_none()
    if head is None and checked > 0:
        return ChainVerification(
            ok=False,
            checked=checked,
            first_broken=checked + 1,
            reason="the chain head row is missing (the tail cannot be checked)",
        )
    if head is not None and (head.seq != checked or head.hash != prev_hash):
        if head.seq > checked:
            reason = f"entries {checked + 1}..{head.seq} are missing (chain tail deleted)"
        else:
            reason = "the chain head does not match the last entry"
        return ChainVerification(ok=False, checked=checked, first_broken=checked + 1, reason=reason)
    return ChainVerification(ok=True, checked=checked)


def _check(entry: Row[Any], *, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next entry is {entry.seq})"
    if entry.prev_hash != prev_hash:
        return f"entry {expected_seq} does not link to the entry before it (prev_hash differs)"
    recomputed = entry_hash(
        prev_hash=entry.prev_hash,
        seq=entry.seq,
        created_at=entry.created_at,
        principal=entry.principal,
        request_id=entry.request_id,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
        tenant=entry.tenant,
    )
    if recomputed != entry.hash:
        return f"entry {expected_seq} was altered (its hash does not match its content)"
    return None


async def head(session: AsyncSession) -> tuple[int, str]:
    """The current (seq, hash) of the chain head, without locking (for anchoring/export)."""
    row = (
        await session.execute(
            select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ID)
        )
    ).first()
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


__all__ = [
    "AuditAppend",
    "AuditRecord",
    "ChainVerification",
    "head",
    "record",
    "record_many",
    "verify_chain",
]
