"""PolicyService against real SQLite and PostgreSQL (fixtures from tests/conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import write_transaction
from tronpay.policy import (
    AssetLimits,
    DailyDestinationExceeded,
    DailyTotalExceeded,
    DeniedDestination,
    DestinationNotAllowed,
    MaxPerPayoutExceeded,
    PolicyConfig,
    PolicyDecision,
    PolicyService,
    PolicyViolation,
    ReservationMissing,
    ReservationRequest,
)
from tronpay.policy.models import PolicyReservation

USDT = 1_000_000  # base units per USDT
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]


def service(**usdt: int | None) -> PolicyService:
    limits = {
        "max_per_payout": 1_000 * USDT,
        "daily_total": 10_000 * USDT,
        "daily_per_destination": 3_000 * USDT,
        "approval_threshold": 500 * USDT,
    }
    limits.update(usdt)
    return PolicyService(
        PolicyConfig(limits={"USDT": AssetLimits(**limits)}, deny_list=frozenset({"TBAD"}))
    )


async def reserve(
    sessionmaker: Maker,
    policy: PolicyService,
    payout_id: str,
    amount: int,
    *,
    to: str = "TDEST",
    now: datetime = T0,
) -> PolicyDecision:
    async with write_transaction(sessionmaker) as session:
        return await policy.check_and_reserve(
            session, payout_id=payout_id, asset="USDT", destination=to, amount=amount, now=now
        )


async def active_total(sessionmaker: Maker) -> int:
    async with sessionmaker() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(PolicyReservation.amount), 0)).where(
                PolicyReservation.released_at.is_(None)
            )
        )
        return int(total or 0)


async def test_approval_threshold(sessionmaker: Maker) -> None:
    policy = service()
    assert await reserve(sessionmaker, policy, "p1", 499 * USDT) == PolicyDecision(False)
    assert await reserve(sessionmaker, policy, "p2", 500 * USDT) == PolicyDecision(True)


async def test_max_per_payout(sessionmaker: Maker) -> None:
    policy = service()
    await reserve(sessionmaker, policy, "p1", 1_000 * USDT)
    with pytest.raises(MaxPerPayoutExceeded) as info:
        await reserve(sessionmaker, policy, "p2", 1_000 * USDT + 1)
    assert info.value.code == "policy_max_per_payout"
    assert info.value.status == 422
    assert info.value.extra["limit"] == "1000"
    assert await active_total(sessionmaker) == 1_000 * USDT


async def test_deny_and_allow_lists(sessionmaker: Maker) -> None:
    policy = service()
    with pytest.raises(DeniedDestination):
        await reserve(sessionmaker, policy, "p1", USDT, to="TBAD")
    allow_only = PolicyService(PolicyConfig(allow_list=frozenset({"TGOOD"})))
    with pytest.raises(DestinationNotAllowed) as info:
        await reserve(sessionmaker, allow_only, "p2", USDT, to="TOTHER")
    assert info.value.code == "policy_not_allowed_destination"
    await reserve(sessionmaker, allow_only, "p3", USDT, to="TGOOD")
    assert await active_total(sessionmaker) == USDT


async def test_daily_total_rolls_after_24h(sessionmaker: Maker) -> None:
    policy = service(daily_total=2_000 * USDT, daily_per_destination=None)
    await reserve(sessionmaker, policy, "p1", 1_000 * USDT, now=T0)
    await reserve(sessionmaker, policy, "p2", 1_000 * USDT, now=T0 + timedelta(hours=1))
    with pytest.raises(DailyTotalExceeded) as info:
        await reserve(sessionmaker, policy, "p3", 1, now=T0 + timedelta(hours=23))
    assert info.value.extra["remaining"] == "0"
    # p1 leaves the window after 24 h; p2 is still inside.
    await reserve(sessionmaker, policy, "p3", 1_000 * USDT, now=T0 + timedelta(hours=24, seconds=1))
    with pytest.raises(DailyTotalExceeded):
        await reserve(sessionmaker, policy, "p4", 1, now=T0 + timedelta(hours=24, seconds=2))


async def test_daily_per_destination(sessionmaker: Maker) -> None:
    policy = service()
    for index in range(3):
        await reserve(sessionmaker, policy, f"a{index}", 1_000 * USDT, to="TONE")
    with pytest.raises(DailyDestinationExceeded) as info:
        await reserve(sessionmaker, policy, "a3", 1, to="TONE")
    assert info.value.code == "policy_daily_destination"
    await reserve(sessionmaker, policy, "b0", 1_000 * USDT, to="TTWO")


async def test_release_frees_capacity(sessionmaker: Maker) -> None:
    policy = service(daily_total=1_000 * USDT)
    await reserve(sessionmaker, policy, "p1", 1_000 * USDT)
    with pytest.raises(DailyTotalExceeded):
        await reserve(sessionmaker, policy, "p2", 1_000 * USDT)
    async with write_transaction(sessionmaker) as session:
        assert await policy.release(session, "p1", now=T0) is True
        assert await policy.release(session, "p1", now=T0) is False
    await reserve(sessionmaker, policy, "p2", 1_000 * USDT)


async def test_violation_rolls_back_nothing_reserved(sessionmaker: Maker) -> None:
    policy = service()
    with pytest.raises(PolicyViolation):
        await reserve(sessionmaker, policy, "p1", 5_000 * USDT)
    assert await active_total(sessionmaker) == 0


async def test_reserve_twice_is_idempotent(sessionmaker: Maker) -> None:
    policy = service(daily_total=1_000 * USDT)
    first = await reserve(sessionmaker, policy, "p1", 600 * USDT)
    assert await reserve(sessionmaker, policy, "p1", 600 * USDT) == first
    assert await active_total(sessionmaker) == 600 * USDT


async def recheck(
    sessionmaker: Maker, policy: PolicyService, payout_id: str, *, now: datetime = T0
) -> PolicyDecision | PolicyViolation:
    """The engine's re-check before signing a payout for the first time (the production
    path: its reservation counts from then)."""
    async with write_transaction(sessionmaker) as session:
        results = await policy.recheck_many(
            session, [payout_id], now=now, count_from_now=[payout_id]
        )
    return results[payout_id]


async def test_recheck(sessionmaker: Maker) -> None:
    policy = service(daily_total=2_000 * USDT, daily_per_destination=None)
    await reserve(sessionmaker, policy, "old", 1_000 * USDT, now=T0)
    later = T0 + timedelta(hours=30)
    # "old" waited (e.g. for approval) and fell out of the window; others used the capacity.
    await reserve(sessionmaker, policy, "new1", 1_000 * USDT, to="TX", now=later)
    await reserve(sessionmaker, policy, "new2", 1_000 * USDT, to="TY", now=later)
    assert isinstance(await recheck(sessionmaker, policy, "old", now=later), DailyTotalExceeded)
    async with write_transaction(sessionmaker) as session:
        await policy.release(session, "new2", now=later)
    decision = await recheck(sessionmaker, policy, "old", now=later)
    assert decision == PolicyDecision(needs_approval=True)
    # Re-stamped at its first signing: it now counts for the next 24 h.
    with pytest.raises(DailyTotalExceeded):
        await reserve(sessionmaker, policy, "new3", 1, now=later + timedelta(hours=23))


async def test_recheck_sees_new_deny_list_and_missing(sessionmaker: Maker) -> None:
    await reserve(sessionmaker, service(), "p1", USDT, to="TLATER")
    stricter = PolicyService(PolicyConfig(deny_list=frozenset({"TLATER"})))
    assert isinstance(await recheck(sessionmaker, stricter, "p1"), DeniedDestination)
    assert isinstance(await recheck(sessionmaker, stricter, "nope"), ReservationMissing)


async def test_many_in_order(sessionmaker: Maker) -> None:
    policy = service(daily_total=2_500 * USDT, daily_per_destination=1_500 * USDT)
    await reserve(sessionmaker, policy, "pre", 1_000 * USDT, to="TA")
    items = [
        ReservationRequest("b1", "USDT", "TA", 500 * USDT),  # TA: 1500 ok, total 1500
        ReservationRequest("b2", "USDT", "TA", 1),  # TA over 1500
        ReservationRequest("b3", "USDT", "TBAD", 1),  # denied
        ReservationRequest("b4", "USDT", "TB", 2_000 * USDT),  # over max per payout
        ReservationRequest("b5", "USDT", "TB", 1_000 * USDT),  # total 2500 ok
        ReservationRequest("b6", "USDT", "TC", 1),  # total exceeded
        ReservationRequest("b1", "USDT", "TA", 500 * USDT),  # duplicate id: same decision
    ]
    async with write_transaction(sessionmaker) as session:
        results = await policy.check_and_reserve_many(session, items, now=T0)
    kinds = [r.code if isinstance(r, PolicyViolation) else r.needs_approval for r in results]
    assert kinds == [
        True,
        "policy_daily_destination",
        "policy_denied_destination",
        "policy_max_per_payout",
        True,
        "policy_daily_total",
        True,
    ]
    assert await active_total(sessionmaker) == 2_500 * USDT


async def _race(sessionmaker: Maker, policy: PolicyService, count: int, amount: int) -> int:
    async def attempt(index: int) -> bool:
        try:
            await reserve(sessionmaker, policy, f"c{index}", amount, to=f"T{index % 7}")
        except DailyTotalExceeded:
            return False
        return True

    results = await asyncio.gather(*(attempt(index) for index in range(count)))
    return sum(results)


async def test_concurrent_reservations_cannot_exceed_daily_total(sessionmaker: Maker) -> None:
    policy = service(daily_total=200 * USDT, daily_per_destination=None, max_per_payout=None)
    accepted = await _race(sessionmaker, policy, 60, 10 * USDT)
    assert accepted == 20
    assert await active_total(sessionmaker) == 200 * USDT


async def test_concurrent_first_use_of_the_lock_row(sessionmaker: Maker) -> None:
    """The lock row does not exist yet; parallel first users must still serialize."""
    policy = service(daily_total=50 * USDT, daily_per_destination=None)
    accepted = await _race(sessionmaker, policy, 20, 7 * USDT)
    assert accepted == 7
    assert await active_total(sessionmaker) == 49 * USDT


async def test_retry_after_release_reserves_again(sessionmaker: Maker) -> None:
    policy = service(daily_total=1_000 * USDT)
    await reserve(sessionmaker, policy, "p1", 700 * USDT)
    async with write_transaction(sessionmaker) as session:
        await policy.release(session, "p1")
    await reserve(sessionmaker, policy, "p2", 300 * USDT)
    # The retried payout must fit again: 300 + 700 = 1000 fits, and it is counted once.
    assert await reserve(sessionmaker, policy, "p1", 700 * USDT) == PolicyDecision(True)
    assert await active_total(sessionmaker) == 1_000 * USDT
    with pytest.raises(DailyTotalExceeded):
        await reserve(sessionmaker, policy, "p3", 1)


async def test_repeated_reserve_replaces_its_own_hold(sessionmaker: Maker) -> None:
    policy = service(daily_total=1_000 * USDT)
    await reserve(sessionmaker, policy, "p1", 900 * USDT)
    await reserve(sessionmaker, policy, "p1", 950 * USDT)
    assert await active_total(sessionmaker) == 950 * USDT


async def test_recheck_many(sessionmaker: Maker) -> None:
    policy = service(daily_total=2_000 * USDT, daily_per_destination=None)
    await reserve(sessionmaker, policy, "old", 1_000 * USDT, to="TA", now=T0)
    later = T0 + timedelta(hours=30)
    await reserve(sessionmaker, policy, "n1", 600 * USDT, to="TB", now=later)
    await reserve(sessionmaker, policy, "n2", 400 * USDT, to="TBAD2", now=later)
    await reserve(sessionmaker, policy, "n3", 600 * USDT, to="TC", now=later)
    stricter = PolicyService(
        PolicyConfig(
            limits={"USDT": AssetLimits(daily_total=2_000 * USDT, approval_threshold=500 * USDT)},
            deny_list=frozenset({"TBAD2"}),
        )
    )
    async with write_transaction(sessionmaker) as session:
        results = await stricter.recheck_many(
            session, ["n1", "n2", "missing", "old", "n3"], now=later, count_from_now=["old"]
        )
    outcome = {
        key: value.code if isinstance(value, PolicyViolation) else value.needs_approval
        for key, value in results.items()
    }
    # n1 600 + old 1000 fit in 2000 (n2 is denied, its 400 still held); n3 would be 2600.
    assert outcome == {
        "n1": True,
        "n2": "policy_denied_destination",
        "missing": "policy_no_reservation",
        "old": True,
        "n3": "policy_daily_total",
    }
    # "old" was signed for the first time: it now counts from `later`.
    with pytest.raises(DailyTotalExceeded):
        await reserve(sessionmaker, stricter, "x", 1, now=later + timedelta(hours=23))


async def test_a_recheck_never_renews_a_reservation(sessionmaker: Maker) -> None:
    """Issue 13.2: the engine's re-check before re-signing a payout does not count its
    amount again from now, so a payout re-signed again and again cannot hold the rolling
    limit for good (only a first signing moves the count, once: ``count_from_now``)."""
    policy = service(daily_total=1_000 * USDT, daily_per_destination=None)
    await reserve(sessionmaker, policy, "stuck", 1_000 * USDT, now=T0)
    for hours in (1, 8, 16, 23):
        async with write_transaction(sessionmaker) as session:
            verdict = await policy.recheck_many(session, ["stuck"], now=T0 + timedelta(hours=hours))
        assert verdict == {"stuck": PolicyDecision(needs_approval=True)}
    with pytest.raises(DailyTotalExceeded):  # still inside its first 24 h
        await reserve(sessionmaker, policy, "early", 1, now=T0 + timedelta(hours=23, minutes=59))
    # 24 h after it was first counted the limit is free again, however often it was re-checked
    later = T0 + timedelta(hours=24, minutes=1)
    assert await reserve(sessionmaker, policy, "next", 1_000 * USDT, now=later) == PolicyDecision(
        True
    )


async def test_rolling_approval_threshold_per_destination(sessionmaker: Maker) -> None:
    """Issue 13.8: amounts split to stay under the per-payout approval threshold still need
    a second person once the destination's rolling 24 h sum (this payout included) reaches
    ``daily_approval_per_destination``; other destinations and the window are separate."""
    policy = service(
        approval_threshold=500 * USDT,
        daily_approval_per_destination=1_000 * USDT,
        daily_total=None,
        daily_per_destination=None,
    )
    assert await reserve(sessionmaker, policy, "s1", 400 * USDT, to="TONE") == PolicyDecision(False)
    assert await reserve(sessionmaker, policy, "s2", 400 * USDT, to="TONE") == PolicyDecision(False)
    # 400 + 400 + 200 = 1000: reaches the rolling threshold
    assert await reserve(sessionmaker, policy, "s3", 200 * USDT, to="TONE") == PolicyDecision(True)
    assert await reserve(sessionmaker, policy, "o1", 400 * USDT, to="TTWO") == PolicyDecision(False)
    # a cancelled payout no longer counts
    async with write_transaction(sessionmaker) as session:
        await policy.release(session, "s3")
    assert await reserve(sessionmaker, policy, "s4", 100 * USDT, to="TONE") == PolicyDecision(False)
    # a day later the window is empty again
    later = T0 + timedelta(hours=24, minutes=1)
    assert await reserve(
        sessionmaker, policy, "s5", 400 * USDT, to="TONE", now=later
    ) == PolicyDecision(False)
    # the group check decides like the single one, item after item
    async with write_transaction(sessionmaker) as session:
        results = await policy.check_and_reserve_many(
            session,
            [ReservationRequest(f"g{n}", "USDT", "TTHREE", 300 * USDT) for n in range(4)],
            now=T0,
            new_payouts=True,
        )
    assert results == [PolicyDecision(False)] * 3 + [PolicyDecision(True)]


async def test_concurrent_payouts_to_one_destination_cannot_dodge_the_rolling_approval(
    sessionmaker: Maker,
) -> None:
    """The rolling approval threshold is decided under the asset's lock like the limits:
    of 12 parallel payouts of 300 to one destination, with approval from a rolling sum of
    1000, exactly 3 go through without approval, whatever the interleaving."""
    policy = service(
        approval_threshold=None,
        daily_approval_per_destination=1_000 * USDT,
        daily_total=None,
        daily_per_destination=None,
        max_per_payout=None,
    )

    async def attempt(index: int) -> bool:
        decision = await reserve(sessionmaker, policy, f"r{index}", 300 * USDT, to="TSPLIT")
        return decision.needs_approval

    results = await asyncio.gather(*(attempt(index) for index in range(12)))
    assert results.count(False) == 3
