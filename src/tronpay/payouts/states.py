"""The payout and attempt state machines (DESIGN §4): one transition table each.

``pending_approval -> queued -> submitted -> confirmed -> finalized``; ``failed`` and
``cancelled`` end a payout (``failed -> queued`` only through an explicit retry). A payout in
``queued`` may carry a ``blocked_reason``; that is not a state change. An invalid transition
raises ``InvalidTransition`` and never overwrites silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from tronpay.audit import record as audit_record
from tronpay.errors import Conflict
from tronpay.payouts.events import emit, payout_snapshot
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
    AttemptStatus.FAILED: frozenset(),
    AttemptStatus.EXPIRED: frozenset(),
}

# Before submission a payout can still be cancelled without touching the chain.
CANCELLABLE: Final = frozenset({PayoutStatus.PENDING_APPROVAL, PayoutStatus.QUEUED})
TERMINAL: Final = frozenset({PayoutStatus.FINALIZED, PayoutStatus.CANCELLED, PayoutStatus.FAILED})


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
    """Who causes a change: a token subject (or ``system:engine``) and the request it came in."""

    principal: str
    request_id: str | None = None


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
    columns), and write the audit entry and the outbox event in the caller's transaction."""
    current = PayoutStatus(payout.status)
    check_payout_transition(current, new)
    before = payout_snapshot(payout)
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
    )
    await emit(session, topic=f"payout.{new.value}", entity_id=payout.id, data=after, now=now)
    log.info(
        "payout.transition",
        payout_id=payout.id,
        from_status=current.value,
        to_status=new.value,
        action=action,
    )
