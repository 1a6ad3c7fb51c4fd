"""The payout and attempt state machines (docs/architecture.md): one transition table each.

``pending_approval -> queued -> submitted -> confirmed -> finalized``; ``failed`` and
``cancelled`` end a payout (``failed -> queued`` only through an explicit retry). A payout in
``queued`` may carry a ``blocked_reason``; that is not a state change. An invalid transition
raises ``InvalidTransition`` and never overwrites silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, cast

import structlog
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from tronpay.audit import AuditRecord, record_many
from tronpay.audit import record as audit_record
from tronpay.batches.progress import complete_batches
from tronpay.errors import Conflict
from tronpay.kit.chunking import chunked
from tronpay.kit.tenants import DEFAULT_TENANT
from tronpay.observability import metrics
from tronpay.payouts.events import emit, emit_many, outbox_row, payout_snapshot, row_snapshot
from tronpay.payouts.models import Payout

log = structlog.get_logger(__name__)


class PayoutStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    QUEUED = "queued"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FINALIZED = "finalized"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptStatus(StrEnum):
    SIGNED = "signed"
    BROADCAST = "broadcast"
    INCLUDED = "included"
    FAILED = "failed"
    EXPIRED = "expired"


PAYOUT_TRANSITIONS: Final[dict[PayoutStatus, frozenset[PayoutStatus]]] = {
    PayoutStatus.PENDING_APPROVAL: frozenset(
        {PayoutStatus.QUEUED, PayoutStatus.CANCELLED, PayoutStatus.FAILED}
    ),
    PayoutStatus.QUEUED: frozenset(
        {PayoutStatus.SUBMITTED, PayoutStatus.CANCELLED, PayoutStatus.FAILED}
    ),
    # submitted -> queued: the live attempt was proven dead (expired), a new one may be made.
    PayoutStatus.SUBMITTED: frozenset(
        {PayoutStatus.CONFIRMED, PayoutStatus.FAILED, PayoutStatus.QUEUED}
    ),
    # confirmed -> submitted: the including block was orphaned before it solidified.
    PayoutStatus.CONFIRMED: frozenset({PayoutStatus.FINALIZED, PayoutStatus.SUBMITTED}),
    PayoutStatus.FINALIZED: frozenset(),
    # failed -> queued | pending_approval: only through POST /v1/payouts/{id}/retry.
    PayoutStatus.FAILED: frozenset({PayoutStatus.QUEUED, PayoutStatus.PENDING_APPROVAL}),
    PayoutStatus.CANCELLED: frozenset(),
}

ATTEMPT_TRANSITIONS: Final[dict[AttemptStatus, frozenset[AttemptStatus]]] = {
    AttemptStatus.SIGNED: frozenset(
        {
            AttemptStatus.BROADCAST,
            AttemptStatus.INCLUDED,
            AttemptStatus.FAILED,
            AttemptStatus.EXPIRED,
        }
    ),
    AttemptStatus.BROADCAST: frozenset(
        {AttemptStatus.INCLUDED, AttemptStatus.FAILED, AttemptStatus.EXPIRED}
    ),
    AttemptStatus.INCLUDED: frozenset(
        {AttemptStatus.BROADCAST}  # engine: its block was orphaned before it solidified
    ),
    AttemptStatus.FAILED: frozenset(
        # engine: the block of a provisional failure was orphaned before it solidified (the
        # payout is still ``submitted``); the same bytes are live again
        {AttemptStatus.BROADCAST}
    ),
    AttemptStatus.EXPIRED: frozenset(),
}

# Before submission a payout can still be cancelled without touching the chain.
CANCELLABLE: Final = frozenset({PayoutStatus.PENDING_APPROVAL, PayoutStatus.QUEUED})
TERMINAL: Final = frozenset({PayoutStatus.FINALIZED, PayoutStatus.CANCELLED, PayoutStatus.FAILED})
_TERMINAL_VALUES: Final = frozenset(s.value for s in TERMINAL)


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "The payout cannot make this state change"


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    title = "The payout was changed concurrently"


def check_payout_transition(current: PayoutStatus, new: PayoutStatus) -> None:
    if new not in PAYOUT_TRANSITIONS[current]:
        raise InvalidTransition(
            f"a payout in status {current.value!r} cannot become {new.value!r}",
            current_status=current.value,
            requested_status=new.value,
        )


def check_attempt_transition(current: AttemptStatus, new: AttemptStatus) -> None:
    if new not in ATTEMPT_TRANSITIONS[current]:
        raise InvalidTransition(
            f"an attempt in status {current.value!r} cannot become {new.value!r}",
            current_status=current.value,
            requested_status=new.value,
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who causes a change: a token subject (or ``system:engine``), the request it came in
    and the tenant that request acts in (what it creates belongs to that tenant);
    ``crossing`` when that is not the caller's own tenant (an ``admin`` token's X-Tenant)."""

    principal: str
    request_id: str | None = None
    tenant: str = DEFAULT_TENANT
    crossing: bool = False


def event_topic(old: PayoutStatus, new: PayoutStatus) -> str:
    """The outbox topic of a state change: ``payout.<new status>``, except an approval
    (``pending_approval`` to ``queued``), which is ``payout.approved``."""
    if old is PayoutStatus.PENDING_APPROVAL and new is PayoutStatus.QUEUED:
        return "payout.approved"
    return f"payout.{new.value}"


async def transition(
    session: AsyncSession,
    payout: Payout,
    new: PayoutStatus,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    **changes: Any,
) -> None:
    """Move ``payout`` to ``new`` (checked against the table), apply ``changes`` (other
    columns), and write the audit entry and the outbox event in the caller's transaction.
    A payout that ends (``TERMINAL``) may complete its batch (``batch.completed``, same
    transaction)."""
    current = PayoutStatus(payout.status)
    check_payout_transition(current, new)
    before = payout_snapshot(payout)
    entered = payout.created_at if current is PayoutStatus.QUEUED else payout.updated_at
    payout.status = new.value
    for name, value in changes.items():
        if not hasattr(Payout, name):
            raise AttributeError(f"Payout has no column {name!r}")
        setattr(payout, name, value)
    payout.updated_at = now
    payout_id = payout.id  # the instance is expired if the flush fails
    try:
        await session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate(
            f"payout {payout_id} was changed by someone else; read it again and retry"
        ) from exc
    after = payout_snapshot(payout)
    await audit_record(
        session,
        action=action,
        principal=actor.principal,
        request_id=actor.request_id,
        entity_type="payout",
        entity_id=payout.id,
        before=before,
        after=after,
        tenant=payout.tenant,
    )
    await emit(session, topic=event_topic(current, new), entity_id=payout.id, data=after, now=now)
    if new in TERMINAL and payout.batch_id is not None:
        await complete_batches(session, [payout.batch_id], terminal=_TERMINAL_VALUES, now=now)
    metrics.stage_transition(current.value, new.value, entered, now)
    log.info(
        "payout.transition",
        payout_id=payout.id,
        from_status=current.value,
        to_status=new.value,
        action=action,
        # the request acting now, else (the engine) the one that created the payout
        request_id=actor.request_id or payout.request_id,
    )


# ---------------------------------------------------------------------------------------------
# bulk transitions (the engine moves hundreds of payouts per transaction)

_PAYOUTS = cast(Table, Payout.__table__)
_ATTR_TO_COLUMN: Final = {attr.key: attr.columns[0].name for attr in Payout.__mapper__.column_attrs}


@dataclass(frozen=True, slots=True)
class BulkChange:
    """One payout of a ``transition_many`` call: the version it was read at (``None``: any)
    and the other columns to set (mapped attribute names, as for ``transition``)."""

    payout_id: str
    version: int | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BulkTransition:
    """What ``transition_many`` did: ``changed`` moved (audit + outbox written), ``skipped``
    were missing, at another version, or not in one of the ``only_from`` states."""

    changed: tuple[str, ...]
    skipped: tuple[str, ...]


def _column_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in changes.items():
        column = _ATTR_TO_COLUMN.get(name)
        if column is None or name in ("id", "status", "version", "updated_at"):
            raise AttributeError(f"Payout has no settable column {name!r}")
        out[column] = value
    return out


def _forget_loaded(session: AsyncSession, ids: Iterable[str]) -> None:
    """Detach ORM copies of rows changed behind the ORM's back (they are stale now)."""
    sync = session.sync_session
    for pid in ids:
        obj = sync.identity_map.get(sync.identity_key(Payout, pid))
        if obj is not None:
            sync.expunge(obj)


async def transition_many(
    session: AsyncSession,
    items: Sequence[BulkChange],
    new: PayoutStatus,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    lock: bool,
    only_from: frozenset[PayoutStatus] | None = None,
) -> BulkTransition:
    """``transition`` for many payouts in the caller's transaction, in bulk.

    Reads the rows (``FOR UPDATE`` when ``lock``, i.e. on PostgreSQL; SQLite's single writer
    serializes otherwise), skips a payout that is missing, was changed since it was read at
    ``version``, or is not in ``only_from``; checks every other against the transition table
    (an invalid transition raises ``InvalidTransition``, nothing is written); then updates
    them with one executemany (status, ``updated_at``, version + 1 and the changes) and
    writes one audit entry and one outbox event per payout (``record_many``, ``emit_many``),
    then completes the batches whose last open payouts ended here (``complete_batches``).
    Call it after any policy check of the same transaction (lock order: policy, then audit).
    """
    ids = list(dict.fromkeys(item.payout_id for item in items))
    if len(ids) != len(items):
        raise ValueError("a payout appears twice in one transition_many call")
    rows: dict[str, dict[str, Any]] = {}
    for chunk in chunked(ids):
        stmt = select(_PAYOUTS).where(_PAYOUTS.c.id.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        result = await session.execute(stmt)
        rows.update({r["id"]: dict(r) for r in result.mappings()})
    moving: list[tuple[BulkChange, dict[str, Any], dict[str, Any]]] = []
    skipped: list[str] = []
    for item in items:
        row = rows.get(item.payout_id)
        if row is None or (item.version is not None and row["version"] != item.version):
            skipped.append(item.payout_id)
            continue
        current = PayoutStatus(row["status"])
        if only_from is not None and current not in only_from:
            skipped.append(item.payout_id)
            continue
        check_payout_transition(current, new)
        moving.append((item, row, _column_changes(item.changes)))
    if not moving:
        return BulkTransition((), tuple(skipped))
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item, row, cols in moving:
        params = {f"p_{k}": v for k, v in cols.items()}
        params["p_id"] = item.payout_id
        params["p_version"] = row["version"]
        params["p_new_version"] = row["version"] + 1
        groups.setdefault(tuple(sorted(cols)), []).append(params)
    for columns, batch in groups.items():
        stmt_u = (
            _PAYOUTS.update()
            .where(
                _PAYOUTS.c.id == bindparam("p_id"),
                _PAYOUTS.c.version == bindparam("p_version"),
            )
            .values(
                status=new.value,
                updated_at=now,
                version=bindparam("p_new_version"),
                **{c: bindparam(f"p_{c}") for c in columns},
            )
        )
        await session.execute(stmt_u, batch)
    _forget_loaded(session, (item.payout_id for item, _, _ in moving))
    audit: list[AuditRecord] = []
    events: list[dict[str, Any]] = []
    for item, row, cols in moving:
        before = row_snapshot(row)
        after = row_snapshot({**row, **cols, "status": new.value})
        audit.append(
            AuditRecord(
                action=action,
                principal=actor.principal,
                request_id=actor.request_id,
                entity_type="payout",
                entity_id=item.payout_id,
                before=before,
                after=after,
                tenant=row["tenant"],
            )
        )
        topic = event_topic(PayoutStatus(row["status"]), new)
        events.append(outbox_row(topic, item.payout_id, after, now))
    await record_many(session, audit, now=now)
    await emit_many(session, events)
    if new in TERMINAL:
        ended = (row["batch_id"] for _, row, _ in moving if row["batch_id"] is not None)
        await complete_batches(session, ended, terminal=_TERMINAL_VALUES, now=now)
    for item, row, _ in moving:
        old = row["status"]
        entered = row["created_at"] if old == PayoutStatus.QUEUED.value else row["updated_at"]
        metrics.stage_transition(old, new.value, entered, now)
        # One line per payout, with the request that created it: its story in the logs.
        log.info(
            "payout.transition",
            payout_id=item.payout_id,
            from_status=old,
            to_status=new.value,
            action=action,
            request_id=actor.request_id or row["request_id"],
        )
    log.info("payout.transition_many", to_status=new.value, action=action, payouts=len(moving))
    return BulkTransition(tuple(item.payout_id for item, _, _ in moving), tuple(skipped))
