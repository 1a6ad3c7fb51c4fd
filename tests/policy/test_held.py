"""A payout that already holds a reservation is judged the same by ``check_and_reserve`` and
``check_and_reserve_many``: without its own hold (never counted twice), with the current
configuration (never let through when the limits now refuse it), and its new amount
replaces the hold. Real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import write_transaction
from tronpay.policy import (
    AssetLimits,
    DailyTotalExceeded,
    DeniedDestination,
    MaxPerPayoutExceeded,
    PolicyConfig,
    PolicyDecision,
    PolicyService,
    PolicyViolation,
    ReservationRequest,
)
from tronpay.policy.models import PolicyReservation

USDT = 1_000_000
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]
LIMITS = AssetLimits(
    max_per_payout=1_000 * USDT,
    daily_total=2_000 * USDT,
    daily_per_destination=1_500 * USDT,
    approval_threshold=500 * USDT,
)


def service(limits: AssetLimits = LIMITS, deny: frozenset[str] = frozenset()) -> PolicyService:
    return PolicyService(PolicyConfig(limits={"USDT": limits, "TRX": limits}, deny_list=deny))


async def single(
    maker: Maker, policy: PolicyService, item: ReservationRequest
) -> PolicyDecision | PolicyViolation:
    async with write_transaction(maker) as session:
        try:
            return await policy.check_and_reserve(
                session,
                payout_id=item.payout_id,
                asset=item.asset,
                destination=item.destination,
                amount=item.amount,
                now=T0,
            )
        except PolicyViolation as violation:
            return violation


async def group(
    maker: Maker, policy: PolicyService, *items: ReservationRequest
) -> list[PolicyDecision | PolicyViolation]:
    async with write_transaction(maker) as session:
        return await policy.check_and_reserve_many(session, list(items), now=T0)


async def holds(maker: Maker, asset: str = "USDT") -> dict[str, int]:
    async with maker() as session:
        rows = await session.execute(
            select(PolicyReservation.payout_id, PolicyReservation.amount).where(
                PolicyReservation.asset == asset, PolicyReservation.released_at.is_(None)
            )
        )
        return {row.payout_id: row.amount for row in rows}


def usdt(payout_id: str, amount: int, to: str = "TA") -> ReservationRequest:
    return ReservationRequest(payout_id, "USDT", to, amount * USDT)


@pytest.mark.parametrize(
    ("stricter", "refusal"),
    [
        (service(AssetLimits(max_per_payout=500 * USDT)), MaxPerPayoutExceeded),
        (service(deny=frozenset({"TA"})), DeniedDestination),
        (service(AssetLimits(daily_total=500 * USDT)), DailyTotalExceeded),
    ],
)
async def test_group_refuses_a_held_payout_the_limits_now_refuse(
    sessionmaker: Maker, stricter: PolicyService, refusal: type[PolicyViolation]
) -> None:
    await single(sessionmaker, service(), usdt("p1", 600))
    # The single check refuses it under the stricter policy ...
    assert isinstance(await single(sessionmaker, stricter, usdt("p1", 600)), refusal)
    # ... and so must the group check (it used to pass it unjudged).
    [result] = await group(sessionmaker, stricter, usdt("p1", 600))
    assert isinstance(result, refusal)
    # Refused: the previous hold stays as it was.
    assert await holds(sessionmaker) == {"p1": 600 * USDT}


async def test_group_never_counts_a_held_payout_twice(sessionmaker: Maker) -> None:
    policy = service()
    await single(sessionmaker, policy, usdt("p1", 900))
    await single(sessionmaker, policy, usdt("p2", 600, to="TB"))
    # 900 + 600 + 900 would exceed 2000; without its own hold p1 fits again.
    results = await group(sessionmaker, policy, usdt("p1", 900), usdt("p3", 500, to="TC"))
    assert results == [PolicyDecision(True), PolicyDecision(True)]
    assert await holds(sessionmaker) == {"p1": 900 * USDT, "p2": 600 * USDT, "p3": 500 * USDT}


async def test_group_replaces_the_hold_like_the_single_check(sessionmaker: Maker) -> None:
    policy = service()
    await single(sessionmaker, policy, usdt("p1", 900))
    assert await group(sessionmaker, policy, usdt("p1", 950)) == [PolicyDecision(True)]
    assert await holds(sessionmaker) == {"p1": 950 * USDT}


async def test_group_reserves_a_released_payout_again(sessionmaker: Maker) -> None:
    policy = service()
    await single(sessionmaker, policy, usdt("p1", 700))
    async with write_transaction(sessionmaker) as session:
        assert await policy.release(session, "p1", now=T0)
    assert await group(sessionmaker, policy, usdt("p1", 700)) == [PolicyDecision(True)]
    assert await holds(sessionmaker) == {"p1": 700 * USDT}


async def test_single_and_group_agree_step_by_step(sessionmaker: Maker) -> None:
    """The same requests, one by one (USDT) and as one group (TRX, the same limits, payout
    ids prefixed with g), end in the same decisions and the same holds."""
    steps = [
        ("p1", 900, "TA"),
        ("p2", 700, "TA"),  # TA over 1500
        ("p2", 600, "TA"),  # TA exactly 1500
        ("p1", 950, "TA"),  # replaces p1: TA 1550, refused; p1 keeps 900
        ("p1", 300, "TA"),  # replaces p1: TA 900
        ("p3", 1_100, "TB"),  # over the per-payout maximum
        ("p3", 800, "TB"),  # total 1700
        ("p4", 301, "TC"),  # total 2001, refused
        ("p4", 300, "TC"),  # total exactly 2000
        ("p3", 800, "TB"),  # repeated as it is: still fits
    ]
    policy = service()
    one_by_one = [
        await single(sessionmaker, policy, ReservationRequest(pid, "USDT", to, amount * USDT))
        for pid, amount, to in steps
    ]
    together = await group(
        sessionmaker,
        policy,
        *(ReservationRequest(f"g{pid}", "TRX", to, amount * USDT) for pid, amount, to in steps),
    )

    def kinds(results: list[PolicyDecision | PolicyViolation]) -> list[str | bool]:
        return [r.code if isinstance(r, PolicyViolation) else r.needs_approval for r in results]

    assert kinds(together) == kinds(one_by_one)
    assert kinds(one_by_one) == [
        True,
        "policy_daily_destination",
        True,
        "policy_daily_destination",
        False,
        "policy_max_per_payout",
        True,
        "policy_daily_total",
        False,
        True,
    ]
    expected = {"p1": 300 * USDT, "p2": 600 * USDT, "p3": 800 * USDT, "p4": 300 * USDT}
    assert await holds(sessionmaker, "USDT") == expected
    assert await holds(sessionmaker, "TRX") == {f"g{pid}": held for pid, held in expected.items()}
