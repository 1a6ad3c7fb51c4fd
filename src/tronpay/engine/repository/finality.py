"""Finality: confirmed payouts whose block is solidified become ``finalized``, a confirmed
payout whose block was orphaned goes back to ``submitted``, and finalized payouts are read
back for reconciliation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.repository._common import (
    _CONFIRMED_ONLY,
    ENGINE_ACTOR,
    _attempt_for_update,
    _payout_for_update,
    _revive,
)
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import (
    ATTEMPT_TRANSITIONS,
    AttemptStatus,
    BulkChange,
    PayoutStatus,
    transition,
    transition_many,
)


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
        energy_from_stake=None,
        energy_burned=None,
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
    raw_data: bytes | None = None  # what we signed: its owner is the wallet that paid


async def finalized_since(
    session: AsyncSession, since: datetime | None, limit: int
) -> list[FinalizedPayout]:
    stmt = (
        select(Payout, PayoutAttempt.raw_data)
        .outerjoin(PayoutAttempt, PayoutAttempt.txid == Payout.txid)
        .where(Payout.status == PayoutStatus.FINALIZED.value)
    )
    if since is not None:
        stmt = stmt.where(Payout.updated_at > since)
    stmt = stmt.order_by(Payout.updated_at, Payout.id).limit(limit)
    return [
        FinalizedPayout(p.id, p.txid or "", p.asset, p.to_address, p.amount, p.updated_at, raw)
        for p, raw in (await session.execute(stmt)).all()
    ]
