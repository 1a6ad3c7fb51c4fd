"""Payout queries, and the only place that inserts (or drops again) payout rows.
Repositories only read, add and flush; the edge commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Select, Table, and_, bindparam, func, insert, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tronpay.audit.models import AuditEntry
from tronpay.db.session import bulk_insert, insert_new
from tronpay.kit.pagination import Cursor, Page
from tronpay.payouts.errors import DuplicateReference
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import PayoutStatus

RETRY_ACTION = "payout.retry"


@dataclass(frozen=True, slots=True)
class PayoutFilters:
    status: str | None = None
    to_address: str | None = None
    batch_id: str | None = None
    reference: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


async def get(
    session: AsyncSession, tenant: str, payout_id: str, *, for_update: bool = False
) -> Payout | None:
    """The payout ``payout_id`` of ``tenant`` (another tenant's payout is not found)."""
    stmt = select(Payout).where(Payout.id == payout_id, Payout.tenant == tenant)
    if for_update:
        # Fresh column values even if the session already holds this payout.
        stmt = stmt.execution_options(populate_existing=True)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def inclusion_block(session: AsyncSession, txid: str) -> int | None:
    """The block number that holds the transaction ``txid`` (``None``: not seen in one)."""
    stmt = select(PayoutAttempt.block_number).where(PayoutAttempt.txid == txid)
    number: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return number


_PAYOUTS = cast(Table, Payout.__table__)
_DELETE_CHUNK: Final = 500


# --- new payouts (rows as ``service.prepare_payout`` builds them: column names as keys) ------


async def add(session: AsyncSession, row: dict[str, Any]) -> None:
    """Insert one new payout. The unique (tenant, reference) index is the duplicate check
    (no SELECT before it): a reference already used raises ``DuplicateReference``."""
    connection = await session.connection()
    try:
        await connection.execute(insert(_PAYOUTS), [row])
    except IntegrityError as exc:
        raise DuplicateReference(f"reference {row['reference']!r} is already used") from exc


async def add_batch(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert the payouts of one batch in bulk; any reference already used raises
    ``DuplicateReference`` (the caller rolls the whole batch back)."""
    connection = await session.connection()
    try:
        await bulk_insert(connection, _PAYOUTS, rows)
    except IntegrityError as exc:
        raise DuplicateReference(
            "a reference of this batch was used by another request meanwhile; nothing was created"
        ) from exc


async def add_new(connection: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the payouts whose reference is free (``ON CONFLICT DO NOTHING``), in the order
    given; return the ids of those inserted."""
    inserted = await insert_new(connection, _PAYOUTS, rows, ["id"])
    return {payout_id for (payout_id,) in inserted}


async def drop_new(connection: AsyncConnection, payout_ids: list[str]) -> None:
    """Delete payouts inserted earlier in the same transaction and refused after (the group
    commit's policy refusals); never used on a committed payout."""
    for start in range(0, len(payout_ids), _DELETE_CHUNK):
        chunk = payout_ids[start : start + _DELETE_CHUNK]
        await connection.execute(_PAYOUTS.delete().where(_PAYOUTS.c.id.in_(chunk)))


async def existing_references(
    session: AsyncSession, tenant: str, references: list[str]
) -> set[str]:
    """Which of ``references`` the tenant already used (one query per 500).

    PostgreSQL: a join of the unnested list with the (tenant, reference) index. Its plan is
    a hash join or one index probe per reference, even before the table has statistics; a
    list filter (``IN (...)`` or ``= ANY(...)``) can be planned as every row of the tenant
    compared with the whole list (over 100 ms per 500 references on a fresh database).
    """
    found: set[str] = set()
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    for start in range(0, len(references), 500):
        chunk = references[start : start + 500]
        if postgres:
            wanted = (
                func.unnest(
                    bindparam(None, chunk, type_=postgresql.ARRAY(_PAYOUTS.c.reference.type))
                )
                .table_valued("ref")
                .render_derived()
            )
            stmt = select(_PAYOUTS.c.reference).join(
                wanted,
                and_(_PAYOUTS.c.tenant == tenant, _PAYOUTS.c.reference == wanted.c.ref),
            )
        else:
            stmt = select(_PAYOUTS.c.reference).where(
                _PAYOUTS.c.tenant == tenant, _PAYOUTS.c.reference.in_(chunk)
            )
        result = await connection.execute(stmt)
        found.update(ref for ref in result.scalars() if ref is not None)
    return found


def _filtered(stmt: Select[Payout], tenant: str, filters: PayoutFilters) -> Select[Payout]:
    stmt = stmt.where(Payout.tenant == tenant)
    if filters.status is not None:
        stmt = stmt.where(Payout.status == filters.status)
    if filters.to_address is not None:
        stmt = stmt.where(Payout.to_address == filters.to_address)
    if filters.batch_id is not None:
        stmt = stmt.where(Payout.batch_id == filters.batch_id)
    if filters.reference is not None:
        stmt = stmt.where(Payout.reference == filters.reference)
    if filters.created_after is not None:
        stmt = stmt.where(Payout.created_at >= filters.created_after)
    if filters.created_before is not None:
        stmt = stmt.where(Payout.created_at < filters.created_before)
    return stmt


async def list_page(
    session: AsyncSession,
    tenant: str,
    filters: PayoutFilters,
    *,
    limit: int,
    cursor: Cursor | None,
) -> Page[Payout]:
    """The payouts of ``tenant``, newest first, in the stable order ``(created_at DESC, id
    DESC)`` (the ``(tenant, created_at, id)`` index)."""
    stmt = _filtered(select(Payout), tenant, filters)
    if cursor is not None:
        stmt = stmt.where(
            or_(
                Payout.created_at < cursor.created_at,
                and_(Payout.created_at == cursor.created_at, Payout.id < cursor.id),
            )
        )
    stmt = stmt.order_by(Payout.created_at.desc(), Payout.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = Cursor(created_at=last.created_at, id=last.id).encode()
    return Page(items=rows, next_cursor=next_cursor)


async def last_retrier(session: AsyncSession, payout_id: str) -> str | None:
    """Who asked for the latest retry of a payout (from the audit log), if anyone did."""
    query = (
        select(AuditEntry.principal)
        .where(
            AuditEntry.entity_type == "payout",
            AuditEntry.entity_id == payout_id,
            AuditEntry.action == RETRY_ACTION,
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )
    principal: str | None = await session.scalar(query)
    return principal


_ENGINE_WORK = (
    PayoutStatus.QUEUED.value,
    PayoutStatus.SUBMITTED.value,
    PayoutStatus.CONFIRMED.value,
)


async def engine_work_waiting(session: AsyncSession) -> bool:
    """Whether any payout waits for the engine (queued, submitted or confirmed)."""
    stmt = select(_PAYOUTS.c.id).where(_PAYOUTS.c.status.in_(_ENGINE_WORK)).limit(1)
    return (await session.execute(stmt)).first() is not None


async def mark_pending_approval(session: AsyncSession, payout_ids: list[str]) -> None:
    """Payouts inserted as ``queued`` that the policy check sent for approval (the
    destination's rolling sum reached its approval threshold): ``pending_approval``, in the
    transaction that inserted them, before anything else saw them."""
    for start in range(0, len(payout_ids), 500):
        chunk = payout_ids[start : start + 500]
        await session.execute(
            _PAYOUTS.update()
            .where(_PAYOUTS.c.id.in_(chunk), _PAYOUTS.c.status == PayoutStatus.QUEUED.value)
            .values(status=PayoutStatus.PENDING_APPROVAL.value)
        )
