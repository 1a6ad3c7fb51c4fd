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
from typing import Any, cast

import structlog
from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.planner import TRX, USDT, Reserved
from tronpay.engine.proof import EXPIRED_INCLUDED
from tronpay.engine.signing import SignedTx
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import (
    ATTEMPT_TRANSITIONS,
    Actor,
    AttemptStatus,
    BulkChange,
    PayoutStatus,
    check_attempt_transition,
    transition,
    transition_many,
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
_PAYOUTS = cast(Table, Payout.__table__)
_ATTEMPTS = cast(Table, PayoutAttempt.__table__)
_QUEUED_ONLY = frozenset({PayoutStatus.QUEUED})
_SUBMITTED_ONLY = frozenset({PayoutStatus.SUBMITTED})
_CONFIRMED_ONLY = frozenset({PayoutStatus.CONFIRMED})


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
        select(
            _PAYOUTS.c.id,
            _PAYOUTS.c.version,
            _PAYOUTS.c.asset,
            _PAYOUTS.c.to_address,
            _PAYOUTS.c.amount,
            _PAYOUTS.c.memo,
            _PAYOUTS.c.attempt_count,
        )
        .where(
            _PAYOUTS.c.status == PayoutStatus.QUEUED.value,
            or_(_PAYOUTS.c.blocked_reason.is_(None), _PAYOUTS.c.updated_at <= blocked_before),
        )
        .order_by(_PAYOUTS.c.created_at, _PAYOUTS.c.id)
        .limit(limit)
    )
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    payouts = list((await session.execute(stmt)).all())
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
            version=int(p.version),
            asset=p.asset,
            to_address=p.to_address,
            amount=int(p.amount),
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


async def _current(
    session: AsyncSession, ids: Sequence[str], *, lock: bool
) -> dict[str, tuple[str, int, str | None]]:
    """(status, version, blocked_reason) of payouts, locked on PostgreSQL."""
    out: dict[str, tuple[str, int, str | None]] = {}
    for chunk in _chunks(sorted(ids)):
        stmt = select(
            _PAYOUTS.c.id, _PAYOUTS.c.status, _PAYOUTS.c.version, _PAYOUTS.c.blocked_reason
        ).where(_PAYOUTS.c.id.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        for pid, status, version, reason in (await session.execute(stmt)).all():
            out[pid] = (status, int(version), reason)
    return out


_SET_BLOCKED = (
    _PAYOUTS.update()
    .where(
        _PAYOUTS.c.id == bindparam("p_id"),
        _PAYOUTS.c.version == bindparam("p_version"),
        _PAYOUTS.c.status == PayoutStatus.QUEUED.value,
    )
    .values(
        blocked_reason=bindparam("p_reason"),
        updated_at=bindparam("p_now"),
        version=bindparam("p_new_version"),
    )
)


async def _set_blocked(
    session: AsyncSession, rows: Sequence[tuple[str, int, str]], *, now: datetime
) -> None:
    """Set ``blocked_reason`` on queued payouts read at the given versions (bulk)."""
    if not rows:
        return
    params = [
        {"p_id": pid, "p_version": v, "p_new_version": v + 1, "p_reason": reason, "p_now": now}
        for pid, v, reason in rows
    ]
    await session.execute(_SET_BLOCKED, params)
    _forget(session, [pid for pid, _, _ in rows])


def _forget(session: AsyncSession, ids: Iterable[str]) -> None:
    """Detach ORM copies of payouts changed with Core statements (they are stale now)."""
    sync = session.sync_session
    for pid in ids:
        obj = sync.identity_map.get(sync.identity_key(Payout, pid))
        if obj is not None:
            sync.expunge(obj)


async def block_payouts(
    session: AsyncSession,
    reasons: dict[str, str],
    versions: dict[str, int],
    *,
    now: datetime,
    lock: bool,
) -> None:
    """Keep payouts queued with a ``blocked_reason`` (not a state change)."""
    current = await _current(session, list(reasons), lock=lock)
    rows: list[tuple[str, int, str]] = []
    for pid, reason in reasons.items():
        cur = current.get(pid)
        if cur is None or cur[0] != PayoutStatus.QUEUED.value or cur[1] != versions[pid]:
            continue
        if cur[2] != reason:
            log.warning("engine.payout.blocked", payout_id=pid, reason=reason)
        rows.append((pid, cur[1], reason))
    await _set_blocked(session, rows, now=now)


async def fail_payouts(
    session: AsyncSession,
    reasons: dict[str, str],
    versions: dict[str, int],
    *,
    now: datetime,
    lock: bool,
    policy: PolicyService | None = None,
) -> None:
    result = await transition_many(
        session,
        [
            BulkChange(pid, versions[pid], {"failure_reason": reason, "blocked_reason": None})
            for pid, reason in reasons.items()
        ],
        PayoutStatus.FAILED,
        actor=ENGINE_ACTOR,
        action="payout.fail",
        now=now,
        lock=lock,
        only_from=_QUEUED_ONLY,
    )
    if policy is not None:
        for pid in result.changed:
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
    caller commits), in bulk: one policy re-check, one attempts insert, one payout update,
    one audit append and one outbox insert for the whole chunk.

    A payout that changed since it was planned (cancelled, or planned by someone else) is
    skipped, and one the policy now refuses stays queued with ``blocked_reason``
    ``policy:<code>``: its signed transaction is dropped unbroadcast, which is harmless.
    """
    current = await _current(session, [s.payout_id for s in signed], lock=lock)
    fresh: list[SignedTx] = []
    for s in signed:
        cur = current.get(s.payout_id)
        if cur is None or cur[0] != PayoutStatus.QUEUED.value or cur[1] != versions[s.payout_id]:
            log.info("engine.payout.changed_before_submit", payout_id=s.payout_id)
            continue
        fresh.append(s)
    if policy is not None and fresh:
        verdicts = await policy.recheck_many(session, [s.payout_id for s in fresh], now=now)
        refused: list[tuple[str, int, str]] = []
        passed: list[SignedTx] = []
        for s in fresh:
            verdict = verdicts[s.payout_id]
            if isinstance(verdict, PolicyViolation):
                log.warning(
                    "engine.payout.policy_blocked", payout_id=s.payout_id, code=verdict.code
                )
                refused.append((s.payout_id, versions[s.payout_id], f"policy:{verdict.code}"))
            else:
                passed.append(s)
        await _set_blocked(session, refused, now=now)
        fresh = passed
    if not fresh:
        return []
    counts = await _attempt_counts(session, [s.payout_id for s in fresh])
    await session.execute(
        insert(_ATTEMPTS),
        [
            {
                "id": new_id("pa"),
                "payout_id": s.payout_id,
                "txid": s.txid,
                "raw_data": s.raw_data,
                "signature": s.signature,
                "expiration_ms": s.expiration_ms,
                "fee_limit": s.fee_limit,
                "status": AttemptStatus.SIGNED.value,
                "created_at": now,
                "updated_at": now,
            }
            for s in fresh
        ],
    )
    result = await transition_many(
        session,
        [
            BulkChange(
                s.payout_id,
                versions[s.payout_id],
                {
                    "txid": s.txid,
                    "fee_limit": s.fee_limit,
                    "attempt_count": counts.get(s.payout_id, 0) + 1,
                    "blocked_reason": None,
                },
            )
            for s in fresh
        ],
        PayoutStatus.SUBMITTED,
        actor=ENGINE_ACTOR,
        action="payout.submit",
        now=now,
        lock=lock,
        only_from=_QUEUED_ONLY,
    )
    if result.skipped:  # cannot happen: the rows were checked above under the same lock
        raise RuntimeError("payouts changed while their attempts were being persisted")
    return fresh


async def _attempt_counts(session: AsyncSession, ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(list(ids)):
        rows = await session.execute(
            select(_PAYOUTS.c.id, _PAYOUTS.c.attempt_count).where(_PAYOUTS.c.id.in_(chunk))
        )
        out.update({pid: int(n) for pid, n in rows.all()})
    return out


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


async def attempt_statuses(session: AsyncSession, txids: Sequence[str]) -> dict[str, str]:
    """The status of every attempt among ``txids`` that is ours (any status)."""
    found: dict[str, str] = {}
    for chunk in _chunks(list(dict.fromkeys(txids))):
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
    fees = {"fee_paid": info.fee_sun, "energy_used": info.energy_usage_total}
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


def _revive(attempt: PayoutAttempt, old: AttemptStatus, now: datetime) -> None:
    """Its block left the chain: the attempt is live again, to be rebroadcast byte for byte."""
    check_attempt_transition(old, AttemptStatus.BROADCAST)
    attempt.status = AttemptStatus.BROADCAST.value
    attempt.block_number = None
    attempt.block_timestamp_ms = None
    attempt.receipt_result = None
    attempt.updated_at = now


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
    for chunk in _chunks([i.txid for i in unique]):
        stmt = select(
            _ATTEMPTS.c.id, _ATTEMPTS.c.payout_id, _ATTEMPTS.c.txid, _ATTEMPTS.c.status
        ).where(_ATTEMPTS.c.txid.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        attempts.update({row.txid: row for row in (await session.execute(stmt)).all()})
    payouts: dict[str, Any] = {}
    for chunk in _chunks(sorted({a.payout_id for a in attempts.values()})):
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
                {"fee_paid": info.fee_sun, "energy_used": info.energy_usage_total},
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


async def finalize_many(
    session: AsyncSession, payout_ids: Sequence[str], *, now: datetime, lock: bool
) -> int:
    """``confirmed`` -> ``finalized`` for many payouts (others are skipped); returns how many."""
    if not payout_ids:
        return 0
    moved = await transition_many(
        session,
        [BulkChange(pid) for pid in dict.fromkeys(payout_ids)],
        PayoutStatus.FINALIZED,
        actor=ENGINE_ACTOR,
        action="payout.finalize",
        now=now,
        lock=lock,
        only_from=_CONFIRMED_ONLY,
    )
    return len(moved.changed)


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
    _revive(attempt, AttemptStatus.INCLUDED, now)
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


async def next_queued_recipients(
    session: AsyncSession, *, skip: int, limit: int, blocked_before: datetime
) -> list[str]:
    """USDT recipients of the queued payouts a following claim would take (the ``skip``
    oldest are being planned now). A hint for prefetching node reads: nothing is locked."""
    rows = await session.execute(
        select(_PAYOUTS.c.to_address)
        .where(
            _PAYOUTS.c.status == PayoutStatus.QUEUED.value,
            _PAYOUTS.c.asset == USDT,
            or_(_PAYOUTS.c.blocked_reason.is_(None), _PAYOUTS.c.updated_at <= blocked_before),
        )
        .order_by(_PAYOUTS.c.created_at, _PAYOUTS.c.id)
        .offset(skip)
        .limit(limit)
    )
    return [str(r[0]) for r in rows.all()]
