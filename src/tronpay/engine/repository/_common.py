"""What the repository modules share: the tables, the engine's actor, the live attempt
statuses and row reads for update (``IN (...)`` lists are split by ``kit.chunking``)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import structlog
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import Actor, AttemptStatus, PayoutStatus, check_attempt_transition

# One logger for the whole package, under the name the single module had.
log = structlog.get_logger(__package__)

ENGINE_ACTOR = Actor(principal="system:engine")
LIVE = (AttemptStatus.SIGNED.value, AttemptStatus.BROADCAST.value)
OUT_OF_ENERGY = "OUT_OF_ENERGY"
BUG_PREFIX = "bug:"
# A node refused the attempt for a reason that holds for every attempt of the payout (TRX to a
# contract, ...): once the attempt is proven dead the payout fails instead of being re-signed.
REJECTED_PREFIX = "rejected:"
DEAD_PREFIX = "dead:"
_PAYOUTS = cast(Table, Payout.__table__)
_ATTEMPTS = cast(Table, PayoutAttempt.__table__)
_QUEUED_ONLY = frozenset({PayoutStatus.QUEUED})
_SUBMITTED_ONLY = frozenset({PayoutStatus.SUBMITTED})
_CONFIRMED_ONLY = frozenset({PayoutStatus.CONFIRMED})


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


def _revive(attempt: PayoutAttempt, old: AttemptStatus, now: datetime) -> None:
    """Its block left the chain: the attempt is live again, to be rebroadcast byte for byte."""
    check_attempt_transition(old, AttemptStatus.BROADCAST)
    attempt.status = AttemptStatus.BROADCAST.value
    attempt.block_number = None
    attempt.block_timestamp_ms = None
    attempt.receipt_result = None
    attempt.updated_at = now
