"""Claiming queued payouts, what live attempts reserve, blocking and failing payouts before
they are signed, and persisting signed attempts (``queued`` -> ``submitted``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.planner import TRX, USDT, Reserved
from tronpay.engine.repository._common import (
    _ATTEMPTS,
    _PAYOUTS,
    _QUEUED_ONLY,
    ENGINE_ACTOR,
    LIVE,
    OUT_OF_ENERGY,
    log,
)
from tronpay.engine.signing import SignedTx
from tronpay.kit.chunking import chunked
from tronpay.kit.ids import new_id
from tronpay.kit.money import Sun, TokenUnits
from tronpay.observability import metrics
from tronpay.payouts.events import emit_many, outbox_row, row_snapshot
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import AttemptStatus, BulkChange, PayoutStatus, transition_many
from tronpay.policy.errors import PolicyViolation
from tronpay.policy.service import PolicyService


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
        for chunk in chunked(sorted(retry_ids)):
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
        trx_sun=Sun(trx + fees),
        token_units=TokenUnits(tokens),
        tx_count=count,
        trx_transfers=trx_count,
        fee_limit_sun=Sun(fees),
    )


async def _current(
    session: AsyncSession, ids: Sequence[str], *, lock: bool
) -> dict[str, tuple[str, int, str | None]]:
    """(status, version, blocked_reason) of payouts, locked on PostgreSQL."""
    out: dict[str, tuple[str, int, str | None]] = {}
    for chunk in chunked(sorted(ids)):
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
    """Keep payouts queued with a ``blocked_reason`` (not a state change). A payout newly
    blocked, or blocked for another reason than before, gets a ``payout.blocked`` outbox
    event in the same transaction."""
    current = await _current(session, list(reasons), lock=lock)
    rows: list[tuple[str, int, str]] = []
    newly: list[str] = []
    for pid, reason in reasons.items():
        cur = current.get(pid)
        if cur is None or cur[0] != PayoutStatus.QUEUED.value or cur[1] != versions[pid]:
            continue
        if cur[2] != reason:
            log.warning("engine.payout.blocked", payout_id=pid, reason=reason)
            newly.append(pid)
        rows.append((pid, cur[1], reason))
    await _set_blocked(session, rows, now=now)
    await _emit_blocked(session, newly, now=now)


async def _emit_blocked(session: AsyncSession, ids: Sequence[str], *, now: datetime) -> None:
    events = []
    for chunk in chunked(sorted(ids)):
        result = await session.execute(select(_PAYOUTS).where(_PAYOUTS.c.id.in_(chunk)))
        for row in result.mappings():
            events.append(outbox_row("payout.blocked", row["id"], row_snapshot(dict(row)), now))
    await emit_many(session, events)


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
    Only a payout signed for the first time has its reservation counted from now; a
    re-signed one keeps the moment it was first counted.
    """
    current = await _current(session, [s.payout_id for s in signed], lock=lock)
    fresh: list[SignedTx] = []
    for s in signed:
        cur = current.get(s.payout_id)
        if cur is None or cur[0] != PayoutStatus.QUEUED.value or cur[1] != versions[s.payout_id]:
            log.info("engine.payout.changed_before_submit", payout_id=s.payout_id)
            continue
        fresh.append(s)
    counts = await _attempt_counts(session, [s.payout_id for s in fresh])
    if policy is not None and fresh:
        verdicts = await policy.recheck_many(
            session,
            [s.payout_id for s in fresh],
            now=now,
            count_from_now=[s.payout_id for s in fresh if counts.get(s.payout_id, 0) == 0],
        )
        refused: list[tuple[str, int, str]] = []
        passed: list[SignedTx] = []
        for s in fresh:
            verdict = verdicts[s.payout_id]
            if isinstance(verdict, PolicyViolation):
                log.warning(
                    "engine.payout.policy_blocked", payout_id=s.payout_id, code=verdict.code
                )
                metrics.POLICY_REJECTIONS.labels(verdict.code).inc()
                refused.append((s.payout_id, versions[s.payout_id], f"policy:{verdict.code}"))
            else:
                passed.append(s)
        await _set_blocked(session, refused, now=now)
        fresh = passed
    if not fresh:
        return []
    metrics.attempts("signed", len(fresh))
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
    for chunk in chunked(list(ids)):
        rows = await session.execute(
            select(_PAYOUTS.c.id, _PAYOUTS.c.attempt_count).where(_PAYOUTS.c.id.in_(chunk))
        )
        out.update({pid: int(n) for pid, n in rows.all()})
    return out


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
