"""The state machine: one table, invalid moves raise, terminal states stay terminal."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout
from tronpay.payouts.states import (
    ATTEMPT_TRANSITIONS,
    PAYOUT_TRANSITIONS,
    Actor,
    AttemptStatus,
    ConcurrentUpdate,
    InvalidTransition,
    PayoutStatus,
    check_attempt_transition,
    check_payout_transition,
    transition,
)

ALLOWED = {
    ("pending_approval", "queued"),
    ("pending_approval", "cancelled"),
    ("pending_approval", "failed"),
    ("queued", "submitted"),
    ("queued", "cancelled"),
    ("queued", "failed"),
    ("submitted", "confirmed"),
    ("submitted", "failed"),
    ("submitted", "queued"),
    ("confirmed", "finalized"),
    ("confirmed", "submitted"),
    ("failed", "queued"),
    ("failed", "pending_approval"),
}


def test_payout_table_is_exactly_the_designed_one() -> None:
    table = {(a.value, b.value) for a, targets in PAYOUT_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED
    assert set(PAYOUT_TRANSITIONS) == set(PayoutStatus)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(PayoutStatus, PayoutStatus)))
def test_every_payout_pair(current: PayoutStatus, new: PayoutStatus) -> None:
    if (current.value, new.value) in ALLOWED:
        check_payout_transition(current, new)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_payout_transition(current, new)
        assert info.value.status == 409


def test_finalized_and_cancelled_are_terminal() -> None:
    assert not PAYOUT_TRANSITIONS[PayoutStatus.FINALIZED]
    assert not PAYOUT_TRANSITIONS[PayoutStatus.CANCELLED]


def test_attempts_move_forward_only() -> None:
    check_attempt_transition(AttemptStatus.SIGNED, AttemptStatus.BROADCAST)
    check_attempt_transition(AttemptStatus.BROADCAST, AttemptStatus.INCLUDED)
    assert not ATTEMPT_TRANSITIONS[AttemptStatus.EXPIRED]
    # included / failed -> broadcast only: the block that held the receipt was orphaned
    # before it solidified and the same signed bytes go out again (never a new signature).
    for receipt in (AttemptStatus.INCLUDED, AttemptStatus.FAILED):
        assert ATTEMPT_TRANSITIONS[receipt] == {AttemptStatus.BROADCAST}
    for end in AttemptStatus.EXPIRED, AttemptStatus.FAILED, AttemptStatus.INCLUDED:
        for back in (AttemptStatus.SIGNED, AttemptStatus.EXPIRED):
            with pytest.raises(InvalidTransition):
                check_attempt_transition(end, back)
    with pytest.raises(InvalidTransition):
        check_attempt_transition(AttemptStatus.BROADCAST, AttemptStatus.SIGNED)


async def test_a_stale_payout_cannot_be_overwritten(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    payout_id = new_id("po")
    async with write_transaction(sessionmaker) as session:
        session.add(
            Payout(
                id=payout_id,
                client="c",
                to_address="T",
                asset="USDT",
                amount=1,
                status="queued",
                created_by="c",
                created_at=now,
                updated_at=now,
                attempt_count=0,
            )
        )

    async def stale_write() -> None:
        async with write_transaction(sessionmaker) as session:
            mine = await session.get(Payout, payout_id)
            assert mine is not None
            # someone else moved it meanwhile (same row, newer version)
            await session.execute(
                update(Payout.__table__)
                .where(Payout.__table__.c.id == payout_id)
                .values(status="cancelled", version=Payout.__table__.c.version + 1)
            )
            await transition(
                session, mine, PayoutStatus.SUBMITTED, actor=Actor("b"), action="t", now=now
            )

    with pytest.raises(ConcurrentUpdate):
        await stale_write()
