"""Live attempts (``signed`` or ``broadcast``): reading them, marking them broadcast,
noting node refusals, and expiring an attempt proven dead (its payout re-queued or failed).

A payout whose dead attempt was refused in a way no new attempt can avoid fails instead of
being re-signed (and its policy reservation is released): refused as a bug of ours
(``bug:``), refused for a reason that belongs to the payout (``rejected:``, e.g. TRX to a
contract), or refused with the same validation error as its previous attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.repository._common import (
    _ATTEMPTS,
    BUG_PREFIX,
    DEAD_PREFIX,
    ENGINE_ACTOR,
    LIVE,
    REJECTED_PREFIX,
    _attempt_for_update,
    _payout_for_update,
)
from tronpay.kit.chunking import chunked
from tronpay.payouts.models import PayoutAttempt
from tronpay.payouts.states import (
    AttemptStatus,
    PayoutStatus,
    check_attempt_transition,
    transition,
)
from tronpay.policy.service import PolicyService


@dataclass(frozen=True)
class LiveAttempt:
    id: str
    payout_id: str
    txid: str
    raw_data: bytes
    signature: bytes
    expiration_ms: int
    status: str
    error: str | None
    created_at: datetime


def _live(a: PayoutAttempt) -> LiveAttempt:
    return LiveAttempt(
        id=a.id,
        payout_id=a.payout_id,
        txid=a.txid,
        raw_data=a.raw_data,
        signature=a.signature,
        expiration_ms=a.expiration_ms,
        status=a.status,
        error=a.error,
        created_at=a.created_at,
    )


async def live_attempts(session: AsyncSession) -> list[LiveAttempt]:
    rows = await session.scalars(
        select(PayoutAttempt)
        .where(PayoutAttempt.status.in_(LIVE))
        .order_by(PayoutAttempt.created_at, PayoutAttempt.id)
    )
    return [_live(a) for a in rows.all()]


async def live_txids(session: AsyncSession, txids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunked(list(txids)):
        rows = await session.scalars(
            select(PayoutAttempt.txid).where(
                PayoutAttempt.txid.in_(chunk), PayoutAttempt.status.in_(LIVE)
            )
        )
        found.update(rows.all())
    return found


async def attempt_statuses(session: AsyncSession, txids: Sequence[str]) -> dict[str, str]:
    """The status of every attempt among ``txids`` that is ours (any status)."""
    found: dict[str, str] = {}
    for chunk in chunked(list(dict.fromkeys(txids))):
        rows = await session.execute(
            select(_ATTEMPTS.c.txid, _ATTEMPTS.c.status).where(_ATTEMPTS.c.txid.in_(chunk))
        )
        found.update((str(txid), str(status)) for txid, status in rows.all())
    return found


@dataclass(frozen=True)
class ExpiredAttempt:
    payout_id: str
    txid: str


async def recently_expired(
    session: AsyncSession, since: datetime, limit: int
) -> list[ExpiredAttempt]:
    """Attempts declared dead after ``since``, newest first (re-checked by reconcile)."""
    rows = await session.execute(
        select(_ATTEMPTS.c.payout_id, _ATTEMPTS.c.txid)
        .where(
            _ATTEMPTS.c.status == AttemptStatus.EXPIRED.value,
            _ATTEMPTS.c.updated_at > since,
        )
        .order_by(_ATTEMPTS.c.updated_at.desc(), _ATTEMPTS.c.id)
        .limit(limit)
    )
    return [ExpiredAttempt(str(pid), str(txid)) for pid, txid in rows.all()]


async def mark_broadcast(session: AsyncSession, txids: Sequence[str], *, now: datetime) -> None:
    """``signed`` -> ``broadcast`` for attempts a node accepted or already knew."""
    for chunk in chunked(list(txids)):
        await session.execute(
            update(PayoutAttempt)
            .where(
                PayoutAttempt.txid.in_(chunk),
                PayoutAttempt.status == AttemptStatus.SIGNED.value,
            )
            .values(status=AttemptStatus.BROADCAST.value, broadcast_at=now, updated_at=now)
        )


async def note_attempt_errors(
    session: AsyncSession, errors: dict[str, str], *, now: datetime
) -> None:
    """Remember the last refusal of an attempt (``hold:...``, ``dead:...``, ``bug:...``)."""
    for txid, error in errors.items():
        await session.execute(
            update(PayoutAttempt)
            .where(PayoutAttempt.txid == txid, PayoutAttempt.status.in_(LIVE))
            .values(error=error[:500], updated_at=now)
        )


async def _final_refusal(session: AsyncSession, attempt: PayoutAttempt) -> str | None:
    """The failure reason when no new attempt of the payout could succeed, else None."""
    error = attempt.error or ""
    if error.startswith(BUG_PREFIX):
        return f"engine:{error}"
    if error.startswith(REJECTED_PREFIX):
        return error
    if not error.startswith(f"{DEAD_PREFIX}CONTRACT_VALIDATE_ERROR"):
        return None
    # the same validation error as the attempt before it: deterministic for this payout
    previous = await session.scalar(
        select(PayoutAttempt.error)
        .where(
            PayoutAttempt.payout_id == attempt.payout_id,
            PayoutAttempt.id != attempt.id,
            PayoutAttempt.status == AttemptStatus.EXPIRED.value,
        )
        .order_by(PayoutAttempt.created_at.desc(), PayoutAttempt.id.desc())
        .limit(1)
    )
    if previous == error:
        return REJECTED_PREFIX + error.removeprefix(DEAD_PREFIX)
    return None


async def expire_attempt(
    session: AsyncSession,
    txid: str,
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> str:
    """The attempt is proven dead: mark it expired and re-queue its payout (or fail it when
    the attempt was refused as a bug). Returns the outcome."""
    attempt = await _attempt_for_update(session, txid, lock=lock)
    if attempt is None or attempt.status not in LIVE:
        return "ignored"
    payout = await _payout_for_update(session, attempt.payout_id, lock=lock)
    check_attempt_transition(AttemptStatus(attempt.status), AttemptStatus.EXPIRED)
    attempt.status = AttemptStatus.EXPIRED.value
    attempt.updated_at = now
    if payout is None or payout.status != PayoutStatus.SUBMITTED.value or payout.txid != txid:
        await session.flush()
        return "ignored"
    reason = await _final_refusal(session, attempt)
    if reason is not None:
        await transition(
            session,
            payout,
            PayoutStatus.FAILED,
            actor=ENGINE_ACTOR,
            action="payout.fail",
            now=now,
            failure_reason=reason[:500],
        )
        if policy is not None:
            await policy.release(session, payout.id, now=now)
        return "failed"
    await transition(
        session,
        payout,
        PayoutStatus.QUEUED,
        actor=ENGINE_ACTOR,
        action="payout.requeue_expired",
        now=now,
    )
    return "requeued"
