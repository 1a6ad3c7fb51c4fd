"""check_and_reserve_many reuses the rolling totals it summed last, only while nobody else
has taken the asset's lock since; a refusal judged on reused totals is re-judged exactly.
Real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import write_transaction
from tronpay.policy import (
    AssetLimits,
    DailyDestinationExceeded,
    PolicyConfig,
    PolicyDecision,
    PolicyService,
    PolicyViolation,
    ReservationRequest,
)

USDT = 1_000_000
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]


def service() -> PolicyService:
    limits = AssetLimits(
        max_per_payout=100_000 * USDT,
        daily_total=1_000_000 * USDT,
        daily_per_destination=60_000 * USDT,
        approval_threshold=None,
    )
    return PolicyService(PolicyConfig(limits={"USDT": limits}))


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"po_{self.n}"


async def group(
    maker: Maker,
    policy: PolicyService,
    new_id: Ids,
    *amounts: int,
    to: str = "TDEST",
    now: datetime = T0,
) -> list[PolicyDecision | PolicyViolation]:
    async with write_transaction(maker) as session:
        return await policy.check_and_reserve_many(
            session,
            [
                ReservationRequest(
                    payout_id=new_id(), asset="USDT", destination=to, amount=a * USDT
                )
                for a in amounts
            ],
            now=now,
            new_payouts=True,
        )


def accepted(results: list[PolicyDecision | PolicyViolation]) -> list[bool]:
    return [isinstance(r, PolicyDecision) for r in results]


async def test_consecutive_groups_reuse_their_totals_and_stay_exact(sessionmaker: Maker) -> None:
    policy, new_id = service(), Ids()
    assert accepted(await group(sessionmaker, policy, new_id, 30_000, 10_000)) == [True, True]
    assert policy.exact_sums == 1
    assert accepted(await group(sessionmaker, policy, new_id, 20_000)) == [True]
    assert policy.exact_sums == 1, "the second group should reuse the totals"
    # Full (60,000): refused, and the refusal is confirmed on exact sums.
    refused = await group(sessionmaker, policy, new_id, 1)
    assert isinstance(refused[0], DailyDestinationExceeded)
    assert policy.exact_sums == 2
    # A new destination is summed on its own; the asset total is still reused.
    assert accepted(await group(sessionmaker, policy, new_id, 5, to="TOTHER")) == [True]
    assert policy.exact_sums == 2


async def test_another_process_reserving_in_between_forces_exact_sums(
    sessionmaker: Maker,
) -> None:
    mine, theirs, new_id = service(), service(), Ids()  # two processes, one database
    assert accepted(await group(sessionmaker, mine, new_id, 40_000)) == [True]
    assert accepted(await group(sessionmaker, theirs, new_id, 15_000)) == [True]
    # 40,000 + 15,000 + 10,000 > 60,000. Reusing "40,000" would have let it through.
    result = await group(sessionmaker, mine, new_id, 10_000)
    assert isinstance(result[0], DailyDestinationExceeded)
    assert mine.exact_sums == 2
    assert accepted(await group(sessionmaker, mine, new_id, 5_000)) == [True]


async def test_a_release_frees_room_the_reused_totals_still_count(sessionmaker: Maker) -> None:
    policy, new_id = service(), Ids()
    assert accepted(await group(sessionmaker, policy, new_id, 30_000, 30_000)) == [True, True]
    async with write_transaction(sessionmaker) as session:
        assert await policy.release(session, "po_1", now=T0)
    # The reused totals still say 60,000: the refusal is re-judged on exact sums and passes.
    assert accepted(await group(sessionmaker, policy, new_id, 30_000)) == [True]


async def test_a_rolled_back_group_is_not_counted(sessionmaker: Maker) -> None:
    policy, new_id = service(), Ids()
    assert accepted(await group(sessionmaker, policy, new_id, 10_000)) == [True]
    try:
        async with write_transaction(sessionmaker) as session:
            await policy.check_and_reserve_many(
                session,
                [ReservationRequest("po_gone", "USDT", "TDEST", 50_000 * USDT)],
                now=T0,
                new_payouts=True,
            )
            raise RuntimeError("the group fails after its policy check")
    except RuntimeError:
        pass
    sums = policy.exact_sums
    assert accepted(await group(sessionmaker, policy, new_id, 50_000)) == [True]
    assert policy.exact_sums == sums + 1, "the lock row lost the rolled-back stamp: re-summed"


async def test_totals_are_summed_again_when_old_and_as_reservations_age_out(
    sessionmaker: Maker,
) -> None:
    policy, new_id = service(), Ids()
    assert accepted(await group(sessionmaker, policy, new_id, 60_000)) == [True]
    later = T0 + timedelta(minutes=5)
    assert policy.exact_sums == 1
    assert isinstance((await group(sessionmaker, policy, new_id, 1, now=later))[0], PolicyViolation)
    assert policy.exact_sums == 2  # reused totals older than the maximum age
    next_day = T0 + timedelta(hours=24, seconds=1)
    assert accepted(await group(sessionmaker, policy, new_id, 60_000, now=next_day)) == [True]
