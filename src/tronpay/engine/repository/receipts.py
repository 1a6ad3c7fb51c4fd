"""On-chain receipts: recording them (one by one and in bulk), provisional failures and
their settlement once solidified, a failure whose block was orphaned, and the alarm for a
receipt of an attempt declared dead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.proof import EXPIRED_INCLUDED
from tronpay.engine.repository._common import (
    _ATTEMPTS,
    _PAYOUTS,
    _SUBMITTED_ONLY,
    ENGINE_ACTOR,
    LIVE,
    OUT_OF_ENERGY,
    _attempt_for_update,
    _payout_for_update,
    _revive,
    log,
)
from tronpay.kit.chunking import chunked
from tronpay.observability import metrics
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import (
    ATTEMPT_TRANSITIONS,
    AttemptStatus,
    BulkChange,
    PayoutStatus,
    check_attempt_transition,
    transition,
    transition_many,
)
from tronpay.policy.service import PolicyService
from tronpay.tron.node import TransactionInfo


def receipt_fees(info: TransactionInfo) -> dict[str, int]:
    """The payout's fee columns from its receipt: ``fee_paid`` is the receipt's ``fee``, all
    the TRX the transaction burned (energy_fee + net_fee + activation and memo fees); the
    energy it used split into what stake paid for and what was burned."""
    staked = min(info.energy_usage_staked, info.energy_usage_total)
    return {
        "fee_paid": info.fee_sun,
        "energy_used": info.energy_usage_total,
        "energy_from_stake": staked,
        "energy_burned": info.energy_usage_total - staked,
    }


@dataclass(frozen=True)
class ReceiptResult:
    txid: str
    payout_id: str
    outcome: str  # confirmed | failure_recorded | expired_included | ignored


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
    if attempt is not None and attempt.status == AttemptStatus.EXPIRED.value:
        alarm_expired_included(info, attempt.payout_id)
        return ReceiptResult(info.txid, attempt.payout_id, "expired_included")
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
    metrics.attempts("success" if info.success else "failed")
    metrics.receipt(info.fee_sun, info.energy_usage_total, info.energy_usage_staked)
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
    fees = receipt_fees(info)
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
    # A failure is provisional until its block is solidified (REVIEW-1): after a reorg the
    # same transaction may still succeed. The payout stays submitted and keeps its
    # reservation; settle_failure acts on it once the solidified state agrees.
    await session.flush()
    log.warning(
        "engine.receipt.failure_provisional",
        payout_id=payout.id,
        txid=attempt.txid,
        result=attempt.receipt_result,
        block=info.block_number,
    )
    return ReceiptResult(info.txid, payout.id, "failure_recorded")


@dataclass(frozen=True)
class ProvisionalFailure:
    """A submitted payout whose current attempt has a failure receipt in a solidified block."""

    payout_id: str
    txid: str
    block_number: int
    receipt_result: str


async def failures_up_to(session: AsyncSession, solid_number: int) -> list[ProvisionalFailure]:
    rows = await session.execute(
        select(
            Payout.id, PayoutAttempt.txid, PayoutAttempt.block_number, PayoutAttempt.receipt_result
        )
        .join(PayoutAttempt, PayoutAttempt.txid == Payout.txid)
        .where(
            Payout.status == PayoutStatus.SUBMITTED.value,
            PayoutAttempt.status == AttemptStatus.FAILED.value,
            PayoutAttempt.block_number <= solid_number,
        )
        .order_by(PayoutAttempt.block_number)
    )
    return [
        ProvisionalFailure(pid, txid, int(bn or 0), result or "FAILED")
        for pid, txid, bn, result in rows.all()
    ]


async def settle_failure(
    session: AsyncSession,
    info: TransactionInfo,
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> str:
    """The failure receipt of a submitted payout's attempt is solidified (``info`` is the
    solidified receipt): fail the payout and release its reservation, or re-queue it once
    after OUT_OF_ENERGY. Returns ``failed``, ``requeued`` or ``ignored``."""
    attempt = await _attempt_for_update(session, info.txid, lock=lock)
    if attempt is None or attempt.status != AttemptStatus.FAILED.value or info.success:
        return "ignored"
    payout = await _payout_for_update(session, attempt.payout_id, lock=lock)
    if (
        payout is None
        or payout.status != PayoutStatus.SUBMITTED.value
        or payout.txid != attempt.txid
    ):
        return "ignored"
    fees = receipt_fees(info)
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
        return "requeued"
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
    return "failed"


def failure_recovery_enabled() -> bool:
    """Whether the attempt table lets an orphaned failure receipt become live again."""
    return AttemptStatus.BROADCAST in ATTEMPT_TRANSITIONS[AttemptStatus.FAILED]


async def unfail_orphaned(session: AsyncSession, txid: str, *, now: datetime, lock: bool) -> bool:
    """The block that held a provisional failure is no longer on the chain: the attempt is
    live again (its payout is still ``submitted``). Returns False, changing nothing, when
    the shared attempt table keeps ``failed`` terminal; the caller raises the alarm and the
    payout stays ``submitted`` (never re-signed, which is safe)."""
    attempt = await _attempt_for_update(session, txid, lock=lock)
    if attempt is None or attempt.status != AttemptStatus.FAILED.value:
        return False
    if not failure_recovery_enabled():
        return False
    _revive(attempt, AttemptStatus.FAILED, now)
    await session.flush()
    return True


def alarm_expired_included(info: TransactionInfo, payout_id: str) -> None:
    """A receipt for an attempt the sweeper declared dead: the proof was wrong somewhere."""
    EXPIRED_INCLUDED.inc()
    log.error(
        "engine.receipt.expired_attempt_included",
        payout_id=payout_id,
        txid=info.txid,
        block=info.block_number,
        result=info.receipt_result,
    )


_MARK_INCLUDED = (
    _ATTEMPTS.update()
    .where(
        _ATTEMPTS.c.id == bindparam("a_id"),
        # no IN (...): an expanding parameter cannot be used with executemany
        or_(_ATTEMPTS.c.status == LIVE[0], _ATTEMPTS.c.status == LIVE[1]),
    )
    .values(
        status=AttemptStatus.INCLUDED.value,
        receipt_result=bindparam("a_result"),
        block_number=bindparam("a_block"),
        block_timestamp_ms=bindparam("a_block_ts"),
        fee_paid=bindparam("a_fee"),
        energy_used=bindparam("a_energy"),
        energy_fee=bindparam("a_energy_fee"),
        net_fee=bindparam("a_net_fee"),
        error=bindparam("a_error"),
        updated_at=bindparam("a_now"),
    )
)


async def apply_receipts_bulk(
    session: AsyncSession,
    infos: Sequence[TransactionInfo],
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> list[ReceiptResult]:
    """``apply_receipt`` for many receipts: the common case (SUCCESS of the payout's live
    attempt) in bulk, every other case (a failure, OUT_OF_ENERGY, an unexpected state) one
    by one through ``apply_receipt``."""
    unique = list({i.txid: i for i in infos}.values())
    attempts: dict[str, Any] = {}
    for chunk in chunked([i.txid for i in unique]):
        stmt = select(
            _ATTEMPTS.c.id, _ATTEMPTS.c.payout_id, _ATTEMPTS.c.txid, _ATTEMPTS.c.status
        ).where(_ATTEMPTS.c.txid.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        attempts.update({row.txid: row for row in (await session.execute(stmt)).all()})
    payouts: dict[str, Any] = {}
    for chunk in chunked(sorted({a.payout_id for a in attempts.values()})):
        pstmt = select(_PAYOUTS.c.id, _PAYOUTS.c.status, _PAYOUTS.c.txid).where(
            _PAYOUTS.c.id.in_(chunk)
        )
        if lock:
            pstmt = pstmt.with_for_update()
        payouts.update({row.id: row for row in (await session.execute(pstmt)).all()})
    results: list[ReceiptResult] = []
    fast: list[tuple[TransactionInfo, Any]] = []
    for info in unique:
        att = attempts.get(info.txid)
        if att is not None and att.status == AttemptStatus.EXPIRED.value:
            alarm_expired_included(info, att.payout_id)
            results.append(ReceiptResult(info.txid, att.payout_id, "expired_included"))
            continue
        if att is None or att.status not in LIVE:
            results.append(ReceiptResult(info.txid, att.payout_id if att else "", "ignored"))
            continue
        pay = payouts.get(att.payout_id)
        if (
            info.success
            and pay is not None
            and pay.status == PayoutStatus.SUBMITTED.value
            and pay.txid == info.txid
        ):
            check_attempt_transition(AttemptStatus(att.status), AttemptStatus.INCLUDED)
            fast.append((info, att))
        else:
            results.append(await apply_receipt(session, info, now=now, lock=lock, policy=policy))
    if not fast:
        return results
    metrics.attempts("success", len(fast))
    for info, _ in fast:
        metrics.receipt(info.fee_sun, info.energy_usage_total, info.energy_usage_staked)
    await session.execute(
        _MARK_INCLUDED,
        [
            {
                "a_id": att.id,
                "a_result": info.receipt_result,
                "a_block": info.block_number,
                "a_block_ts": info.block_timestamp,
                "a_fee": info.fee_sun,
                "a_energy": info.energy_usage_total,
                "a_energy_fee": info.energy_fee_sun,
                "a_net_fee": info.net_fee_sun,
                "a_error": info.res_message[:500] if info.res_message else None,
                "a_now": now,
            }
            for info, att in fast
        ],
    )
    moved = await transition_many(
        session,
        [
            BulkChange(
                att.payout_id,
                None,
                receipt_fees(info),
            )
            for info, att in fast
        ],
        PayoutStatus.CONFIRMED,
        actor=ENGINE_ACTOR,
        action="payout.confirm",
        now=now,
        lock=lock,
        only_from=_SUBMITTED_ONLY,
    )
    changed = set(moved.changed)
    for info, att in fast:
        outcome = "confirmed" if att.payout_id in changed else "ignored"
        results.append(ReceiptResult(info.txid, att.payout_id, outcome))
    return results


async def _had_out_of_energy(session: AsyncSession, payout_id: str, except_id: str) -> bool:
    n = await session.scalar(
        select(func.count()).where(
            PayoutAttempt.payout_id == payout_id,
            PayoutAttempt.id != except_id,
            PayoutAttempt.receipt_result == OUT_OF_ENERGY,
        )
    )
    return bool(n)
