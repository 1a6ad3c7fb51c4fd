"""The engine's database operations. They only flush; the engine's step wrapper owns the
transaction (commit or roll back). Every payout state change goes through
``tronpay.payouts.states.transition`` (audit + outbox in the same transaction).

On PostgreSQL rows are locked (``FOR UPDATE``; ``SKIP LOCKED`` when claiming) so several
engines can share one database; on SQLite one engine runs and the single writer serializes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.planner import TRX, USDT, Reserved
from tronpay.engine.signing import SignedTx
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import (
    ATTEMPT_TRANSITIONS,
    Actor,
    AttemptStatus,
    PayoutStatus,
    check_attempt_transition,
    transition,
)
from tronpay.policy.errors import PolicyViolation
from tronpay.policy.service import PolicyService
from tronpay.tron.node import TransactionInfo

log = structlog.get_logger(__name__)

ENGINE_ACTOR = Actor(principal="system:engine")
LIVE = (AttemptStatus.SIGNED.value, AttemptStatus.BROADCAST.value)
OUT_OF_ENERGY = "OUT_OF_ENERGY"
BUG_PREFIX = "bug:"
_IN_CHUNK = 500


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class ClaimedPayout:
    """A queued payout as the planner needs it (detached from the session)."""

    id: str
    version: int
    asset: str
    to_address: str
    amount: int
    memo: str | None
    retry_out_of_energy: bool


async def claim_queued(
    session: AsyncSession, *, limit: int, blocked_before: datetime, skip_locked: bool
) -> list[ClaimedPayout]:
    """Queued payouts to plan, oldest first. A blocked payout comes back only after its
    ``updated_at`` is older than ``blocked_before``. On PostgreSQL the rows stay locked
    (``FOR UPDATE SKIP LOCKED``) until the caller's transaction ends."""
    stmt = (
        select(Payout)
        .where(
            Payout.status == PayoutStatus.QUEUED.value,
            or_(Payout.blocked_reason.is_(None), Payout.updated_at <= blocked_before),
        )
        .order_by(Payout.created_at, Payout.id)
        .limit(limit)
    )
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    payouts = list((await session.scalars(stmt)).all())
    retry_ids = {p.id for p in payouts if p.attempt_count > 0}
    oue: set[str] = set()
    if retry_ids:
        for chunk in _chunks(sorted(retry_ids)):
            rows = await session.execute(
                select(PayoutAttempt.payout_id, func.count())
                .where(
                    PayoutAttempt.payout_id.in_(chunk),
                    PayoutAttempt.receipt_result == OUT_OF_ENERGY,
                )
                .group_by(PayoutAttempt.payout_id)
            )
            oue.update(pid for pid, n in rows.all() if n > 0)
    return [
        ClaimedPayout(
            id=p.id,
            version=p.version,
            asset=p.asset,
            to_address=p.to_address,
            amount=p.amount,
            memo=p.memo,
            retry_out_of_energy=p.id in oue,
        )
        for p in payouts
    ]


async def reserved_by_live_attempts(session: AsyncSession) -> Reserved:
    """What signed-but-not-included attempts may still take from the hot wallet."""
    rows = await session.execute(
        select(
            Payout.asset,
            func.count(),
            func.coalesce(func.sum(Payout.amount), 0),
            func.coalesce(func.sum(PayoutAttempt.fee_limit), 0),
        )
        .join(Payout, Payout.id == PayoutAttempt.payout_id)
        .where(PayoutAttempt.status.in_(LIVE))
        .group_by(Payout.asset)
    )
    trx = tokens = fees = count = trx_count = 0
    for asset, n, amount, fee_limits in rows.all():
        count += int(n)
        fees += int(fee_limits or 0)
        if asset == USDT:
            tokens += int(amount)
        elif asset == TRX:
            trx += int(amount)
            trx_count += int(n)
    return Reserved(
        trx_sun=trx + fees,
        token_units=tokens,
        tx_count=count,
        trx_transfers=trx_count,
        fee_limit_sun=fees,
    )


async def _payouts_by_id(
    session: AsyncSession, ids: Sequence[str], *, lock: bool
) -> dict[str, Payout]:
    out: dict[str, Payout] = {}
    for chunk in _chunks(list(ids)):
        stmt = select(Payout).where(Payout.id.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        out.update({p.id: p for p in (await session.scalars(stmt)).all()})
    return out


async def block_payouts(
    session: AsyncSession,
    reasons: dict[str, str],
    versions: dict[str, int],
    *,
    now: datetime,
    lock: bool,
) -> None:
    """Keep payouts queued with a ``blocked_reason`` (not a state change)."""
    payouts = await _payouts_by_id(session, sorted(reasons), lock=lock)
    for pid, reason in reasons.items():
        p = payouts.get(pid)
        if p is None or p.status != PayoutStatus.QUEUED.value or p.version != versions[pid]:
            continue
        if p.blocked_reason != reason:
            log.warning("engine.payout.blocked", payout_id=pid, reason=reason)
        p.blocked_reason = reason
        p.updated_at = now
    await session.flush()


async def fail_payouts(
    session: AsyncSession,
    reasons: dict[str, str],
    versions: dict[str, int],
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> None:
    payouts = await _payouts_by_id(session, sorted(reasons), lock=lock)
    for pid, reason in reasons.items():
        p = payouts.get(pid)
        if p is None or p.status != PayoutStatus.QUEUED.value or p.version != versions[pid]:
            continue
        await transition(
            session,
            p,
            PayoutStatus.FAILED,
            actor=ENGINE_ACTOR,
            action="payout.fail",
            now=now,
            failure_reason=reason,
            blocked_reason=None,
        )
        if policy is not None:
            await policy.release(session, pid, now=now)


async def persist_signed(
    session: AsyncSession,
    signed: Sequence[SignedTx],
    versions: dict[str, int],
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> list[SignedTx]:
    """Re-check policy, insert the attempts and move their payouts to ``submitted`` (the
    caller commits).

    A payout that changed since it was planned (cancelled, or planned by someone else) is
    skipped, and one the policy now refuses stays queued with ``blocked_reason``
    ``policy:<code>``: its signed transaction is dropped unbroadcast, which is harmless.
    """
    payouts = await _payouts_by_id(session, [s.payout_id for s in signed], lock=lock)
    kept: list[SignedTx] = []
    for s in signed:
        p = payouts.get(s.payout_id)
        if p is None or p.status != PayoutStatus.QUEUED.value or p.version != versions[p.id]:
            log.info("engine.payout.changed_before_submit", payout_id=s.payout_id)
            continue
        if policy is not None:
            try:
                await policy.recheck(session, payout_id=p.id, now=now)
            except PolicyViolation as exc:
                log.warning("engine.payout.policy_blocked", payout_id=p.id, code=exc.code)
                p.blocked_reason = f"policy:{exc.code}"
                p.updated_at = now
                continue
        session.add(
            PayoutAttempt(
                id=new_id("pa"),
                payout_id=p.id,
                txid=s.txid,
                raw_data=s.raw_data,
                signature=s.signature,
                expiration_ms=s.expiration_ms,
                fee_limit=s.fee_limit,
                status=AttemptStatus.SIGNED.value,
                created_at=now,
                updated_at=now,
            )
        )
        await transition(
            session,
            p,
            PayoutStatus.SUBMITTED,
            actor=ENGINE_ACTOR,
            action="payout.submit",
            now=now,
            txid=s.txid,
            fee_limit=s.fee_limit,
            attempt_count=p.attempt_count + 1,
            blocked_reason=None,
        )
        kept.append(s)
    return kept


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
    for chunk in _chunks(list(txids)):
        rows = await session.scalars(
            select(PayoutAttempt.txid).where(
                PayoutAttempt.txid.in_(chunk), PayoutAttempt.status.in_(LIVE)
            )
        )
        found.update(rows.all())
    return found


async def mark_broadcast(session: AsyncSession, txids: Sequence[str], *, now: datetime) -> None:
    """``signed`` -> ``broadcast`` for attempts a node accepted or already knew."""
    for chunk in _chunks(list(txids)):
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


async def _attempt_for_update(
    session: AsyncSession, txid: str, *, lock: bool
) -> PayoutAttempt | None:
    stmt = select(PayoutAttempt).where(PayoutAttempt.txid == txid)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def _payout_for_update(session: AsyncSession, pid: str, *, lock: bool) -> Payout | None:
    stmt = select(Payout).where(Payout.id == pid)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


@dataclass(frozen=True)
class ReceiptResult:
    txid: str
    payout_id: str
    outcome: str  # confirmed | failed | requeued | ignored


async def apply_receipt(
    session: AsyncSession,
    info: TransactionInfo,
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> ReceiptResult:
    """Record a live attempt's on-chain receipt and move its payout on."""
    attempt = await _attempt_for_update(session, info.txid, lock=lock)
    if attempt is None or attempt.status not in LIVE:
        return ReceiptResult(info.txid, attempt.payout_id if attempt else "", "ignored")
    payout = await _payout_for_update(session, attempt.payout_id, lock=lock)
    if payout is None:
        return ReceiptResult(info.txid, attempt.payout_id, "ignored")
    new_status = AttemptStatus.INCLUDED if info.success else AttemptStatus.FAILED
    check_attempt_transition(AttemptStatus(attempt.status), new_status)
    attempt.status = new_status.value
    attempt.receipt_result = (
        info.receipt_result
        if not info.failed
        else (info.receipt_result if info.receipt_result != "SUCCESS" else "FAILED")
    )
    attempt.block_number = info.block_number
    attempt.block_timestamp_ms = info.block_timestamp
    attempt.fee_paid = info.fee_sun
    attempt.energy_used = info.energy_usage_total
    attempt.energy_fee = info.energy_fee_sun
    attempt.net_fee = info.net_fee_sun
    attempt.updated_at = now
    if info.res_message:
        attempt.error = info.res_message[:500]
    if payout.status != PayoutStatus.SUBMITTED.value or payout.txid != attempt.txid:
        # Cannot happen under the one-live-attempt rule; never overwrite silently.
        log.error(
            "engine.receipt.unexpected_payout_state",
            payout_id=payout.id,
            status=payout.status,
            txid=attempt.txid,
        )
        await session.flush()
        return ReceiptResult(info.txid, payout.id, "ignored")
    fees = {"fee_paid": info.fee_sun, "energy_used": info.energy_usage_total}
    if info.success:
        await transition(
            session,
            payout,
            PayoutStatus.CONFIRMED,
            actor=ENGINE_ACTOR,
            action="payout.confirm",
            now=now,
            **fees,
        )
        return ReceiptResult(info.txid, payout.id, "confirmed")
    result = attempt.receipt_result or "FAILED"
    if result == OUT_OF_ENERGY and not await _had_out_of_energy(session, payout.id, attempt.id):
        log.warning("engine.attempt.out_of_energy", payout_id=payout.id, txid=attempt.txid)
        await transition(
            session,
            payout,
            PayoutStatus.QUEUED,
            actor=ENGINE_ACTOR,
            action="payout.requeue_out_of_energy",
            now=now,
            **fees,
        )
        return ReceiptResult(info.txid, payout.id, "requeued")
    reason = f"chain:{result}"
    if info.res_message:
        reason += f": {info.res_message}"
    await transition(
        session,
        payout,
        PayoutStatus.FAILED,
        actor=ENGINE_ACTOR,
        action="payout.fail",
        now=now,
        failure_reason=reason[:500],
        **fees,
    )
    if policy is not None:
        await policy.release(session, payout.id, now=now)
    return ReceiptResult(info.txid, payout.id, "failed")


async def _had_out_of_energy(session: AsyncSession, payout_id: str, except_id: str) -> bool:
    n = await session.scalar(
        select(func.count()).where(
            PayoutAttempt.payout_id == payout_id,
            PayoutAttempt.id != except_id,
            PayoutAttempt.receipt_result == OUT_OF_ENERGY,
        )
    )
    return bool(n)


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
    if attempt.error and attempt.error.startswith(BUG_PREFIX):
        await transition(
            session,
            payout,
            PayoutStatus.FAILED,
            actor=ENGINE_ACTOR,
            action="payout.fail",
            now=now,
            failure_reason=f"engine:{attempt.error}"[:500],
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


@dataclass(frozen=True)
class ConfirmedPayout:
    payout_id: str
    txid: str
    block_number: int


async def confirmed_up_to(session: AsyncSession, solid_number: int) -> list[ConfirmedPayout]:
    rows = await session.execute(
        select(Payout.id, PayoutAttempt.txid, PayoutAttempt.block_number)
        .join(PayoutAttempt, PayoutAttempt.txid == Payout.txid)
        .where(
            Payout.status == PayoutStatus.CONFIRMED.value,
            PayoutAttempt.status == AttemptStatus.INCLUDED.value,
            PayoutAttempt.block_number <= solid_number,
        )
        .order_by(PayoutAttempt.block_number)
    )
    return [ConfirmedPayout(pid, txid, int(bn or 0)) for pid, txid, bn in rows.all()]


async def finalize(session: AsyncSession, payout_id: str, *, now: datetime, lock: bool) -> bool:
    payout = await _payout_for_update(session, payout_id, lock=lock)
    if payout is None or payout.status != PayoutStatus.CONFIRMED.value:
        return False
    await transition(
        session,
        payout,
        PayoutStatus.FINALIZED,
        actor=ENGINE_ACTOR,
        action="payout.finalize",
        now=now,
    )
    return True


def orphan_recovery_enabled() -> bool:
    """Whether the attempt table lets an orphaned inclusion become live again."""
    return AttemptStatus.BROADCAST in ATTEMPT_TRANSITIONS[AttemptStatus.INCLUDED]


async def unconfirm_orphaned(
    session: AsyncSession, payout_id: str, txid: str, *, now: datetime, lock: bool
) -> bool:
    """The block that held this confirmed payout's transaction is no longer on the chain:
    the attempt is live again (same bytes; it may be included again or expire) and the
    payout goes back to ``submitted``.

    Uses the attempt transition ``included -> broadcast``; were the shared table to make
    ``included`` terminal again this returns False and the payout stays ``confirmed`` (it
    never finalizes, which is safe: nothing is re-signed) and the caller raises the alarm."""
    attempt = await _attempt_for_update(session, txid, lock=lock)
    payout = await _payout_for_update(session, payout_id, lock=lock)
    if (
        attempt is None
        or payout is None
        or attempt.status != AttemptStatus.INCLUDED.value
        or payout.status != PayoutStatus.CONFIRMED.value
        or payout.txid != txid
    ):
        return False
    if not orphan_recovery_enabled():
        return False
    check_attempt_transition(AttemptStatus.INCLUDED, AttemptStatus.BROADCAST)
    attempt.status = AttemptStatus.BROADCAST.value
    attempt.block_number = None
    attempt.block_timestamp_ms = None
    attempt.receipt_result = None
    attempt.updated_at = now
    await transition(
        session,
        payout,
        PayoutStatus.SUBMITTED,
        actor=ENGINE_ACTOR,
        action="payout.unconfirm_orphaned",
        now=now,
        fee_paid=None,
        energy_used=None,
    )
    return True


@dataclass(frozen=True)
class FinalizedPayout:
    payout_id: str
    txid: str
    asset: str
    to_address: str
    amount: int
    updated_at: datetime


async def finalized_since(
    session: AsyncSession, since: datetime | None, limit: int
) -> list[FinalizedPayout]:
    stmt = select(Payout).where(Payout.status == PayoutStatus.FINALIZED.value)
    if since is not None:
        stmt = stmt.where(Payout.updated_at > since)
    stmt = stmt.order_by(Payout.updated_at, Payout.id).limit(limit)
    return [
        FinalizedPayout(p.id, p.txid or "", p.asset, p.to_address, p.amount, p.updated_at)
        for p in (await session.scalars(stmt)).all()
    ]
