"""Property tests of the pure policy rules (``tronpay.policy.rules``): no database."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.kit.money import format_amount
from tronpay.policy import (
    AssetLimits,
    DailyDestinationExceeded,
    DailyTotalExceeded,
    PolicyConfig,
    PolicyDecision,
    PolicyViolation,
    ReservationRequest,
    rules,
)
from tronpay.policy.rules import (
    Hold,
    Judgement,
    RollingTotals,
    check,
    judge,
    judge_held,
    passes_static,
)

ASSETS = ("USDT", "TRX")
DESTINATIONS = ("TA", "TB", "TC", "TDENIED")
PAYOUTS = tuple(f"p{n}" for n in range(6))

limits_st = st.builds(
    AssetLimits,
    max_per_payout=st.none() | st.integers(1, 60),
    daily_total=st.none() | st.integers(0, 150),
    daily_per_destination=st.none() | st.integers(0, 100),
    approval_threshold=st.none() | st.integers(1, 60),
)
configs = st.builds(
    lambda usdt, trx: PolicyConfig(
        limits={"USDT": usdt, "TRX": trx}, deny_list=frozenset({"TDENIED"})
    ),
    limits_st,
    limits_st,
)
requests = st.builds(
    ReservationRequest,
    payout_id=st.sampled_from(PAYOUTS),
    asset=st.sampled_from((*ASSETS, "usdt")),
    destination=st.sampled_from(DESTINATIONS),
    amount=st.integers(-1, 60),
)
holds_st = st.dictionaries(
    st.sampled_from((*PAYOUTS, "other1", "other2", "other3")),
    st.builds(
        Hold,
        asset=st.sampled_from(ASSETS),
        destination=st.sampled_from(DESTINATIONS),
        amount=st.integers(1, 80),
        counted=st.booleans(),
    ),
    max_size=8,
)


def sums(holds: Iterable[Hold]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """The oracle: rolling totals as the plain sums of the counted holds."""
    by_asset: Counter[str] = Counter()
    by_destination: Counter[tuple[str, str]] = Counter()
    for hold in holds:
        if hold.counted:
            by_asset[hold.asset] += hold.amount
            by_destination[(hold.asset, hold.destination)] += hold.amount
    return by_asset, by_destination


def totals_of(holds: Mapping[str, Hold]) -> dict[str, RollingTotals]:
    by_asset, by_destination = sums(holds.values())
    return {
        asset: RollingTotals(
            asset_total=by_asset[asset],
            destinations={d: t for (a, d), t in by_destination.items() if a == asset},
        )
        for asset in ASSETS
    }


def after(holds: Mapping[str, Hold], judgement: Judgement) -> dict[str, Hold]:
    """The holds once the judgement's accepted reservations are written."""
    out = dict(holds)
    for r in judgement.accepted:
        out[r.payout_id] = Hold(r.asset, r.destination, r.amount, counted=True)
    return out


def assert_totals_match(judgement: Judgement, holds: Mapping[str, Hold]) -> None:
    by_asset, by_destination = sums(holds.values())
    assert {a: t for a, t in judgement.asset_totals.items() if t} == +by_asset
    assert {k: t for k, t in judgement.destination_totals.items() if t} == +by_destination


def within_limits(config: PolicyConfig, holds: Mapping[str, Hold]) -> bool:
    by_asset, by_destination = sums(holds.values())
    for asset in ASSETS:
        limits = config.for_asset(asset)
        if limits.daily_total is not None and by_asset[asset] > limits.daily_total:
            return False
    for (asset, _), total in by_destination.items():
        per_destination = config.for_asset(asset).daily_per_destination
        if per_destination is not None and total > per_destination:
            return False
    return True


@settings(max_examples=200, deadline=None)
@given(configs, holds_st, st.lists(requests, max_size=12))
def test_judge_leaves_totals_equal_to_the_holds_it_writes(
    config: PolicyConfig, holds: dict[str, Hold], items: list[ReservationRequest]
) -> None:
    judgement = judge(config, items, totals=totals_of(holds), holds=holds)
    assert len(judgement.results) == len(items)
    assert_totals_match(judgement, after(holds, judgement))


@settings(max_examples=200, deadline=None)
@given(configs, st.lists(requests, max_size=10), st.lists(requests, max_size=10))
def test_accepting_never_takes_a_total_over_its_limit(
    config: PolicyConfig, first: list[ReservationRequest], second: list[ReservationRequest]
) -> None:
    start = judge(config, first, totals={}, holds={})
    holds = after({}, start)
    assert within_limits(config, holds)
    judgement = judge(config, second, totals=totals_of(holds), holds=holds)
    assert within_limits(config, after(holds, judgement))


@settings(max_examples=200, deadline=None)
@given(configs, holds_st, st.lists(requests, max_size=12))
def test_an_accepted_item_fits_even_when_the_totals_started_over_the_limit(
    config: PolicyConfig, holds: dict[str, Hold], items: list[ReservationRequest]
) -> None:
    judgement = judge(config, items, totals=totals_of(holds), holds=holds)
    final_asset, final_destination = sums(after(holds, judgement).values())
    for item, result in zip(items, judgement.results, strict=True):
        if isinstance(result, PolicyViolation):
            continue
        asset = item.asset.upper()
        limits = config.for_asset(asset)
        assert limits.max_per_payout is None or item.amount <= limits.max_per_payout
        assert limits.daily_total is None or final_asset[asset] <= limits.daily_total
        per_destination = limits.daily_per_destination
        key = (asset, item.destination)
        assert per_destination is None or final_destination[key] <= per_destination


@settings(max_examples=200, deadline=None)
@given(configs, holds_st, st.lists(requests, max_size=10))
def test_a_group_decides_like_single_checks_one_after_another(
    config: PolicyConfig, holds: dict[str, Hold], items: list[ReservationRequest]
) -> None:
    together = judge(config, items, totals=totals_of(holds), holds=holds)
    current = dict(holds)
    one_by_one: list[PolicyDecision | PolicyViolation] = []
    for item in items:
        single = judge(config, [item], totals=totals_of(current), holds=current)
        one_by_one.extend(single.results)
        current = after(current, single)
    assert [_kind(r) for r in together.results] == [_kind(r) for r in one_by_one]
    assert after(holds, together) == current


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(ASSETS), st.sampled_from(DESTINATIONS[:3]), st.integers(1, 40)),
        min_size=1,
        max_size=10,
    ),
    st.data(),
)
def test_everything_that_fits_is_accepted_in_any_order(
    specs: list[tuple[str, str, int]], data: st.DataObject
) -> None:
    items = [
        ReservationRequest(f"p{n}", asset, destination, amount)
        for n, (asset, destination, amount) in enumerate(specs)
    ]
    by_asset, by_destination = sums(
        Hold(i.asset, i.destination, i.amount, counted=True) for i in items
    )
    # Every limit exactly at what the items need together: the boundary itself fits.
    config = PolicyConfig(
        limits={
            asset: AssetLimits(
                max_per_payout=max(i.amount for i in items),
                daily_total=by_asset[asset],
                daily_per_destination=max(by_destination.values()),
            )
            for asset in ASSETS
        }
    )
    for order in (items, data.draw(st.permutations(items))):
        judgement = judge(config, order, totals={}, holds={})
        assert all(isinstance(r, PolicyDecision) for r in judgement.results)
        assert_totals_match(judgement, after({}, judgement))
    # One base unit more is refused, whatever it is.
    extra = ReservationRequest("p_extra", items[0].asset, items[0].destination, 1)
    refused = judge(config, [*items, extra], totals={}, holds={})
    assert isinstance(refused.results[-1], DailyTotalExceeded)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10**15),
    st.integers(0, 10**15),
    st.integers(0, 10**15),
    st.integers(0, 10**15),
)
def test_the_boundary_is_exactly_the_limit(
    limit: int, total: int, per_destination: int, destination_total: int
) -> None:
    total, destination_total = min(total, limit), min(destination_total, per_destination)
    config = PolicyConfig(
        limits={"USDT": AssetLimits(daily_total=limit, daily_per_destination=per_destination)}
    )
    room = min(limit - total, per_destination - destination_total)

    def attempt(amount: int) -> PolicyDecision:
        return check(
            config,
            ReservationRequest("p", "USDT", "TA", amount),
            asset_total=total,
            destination_total=destination_total,
        )

    if room > 0:
        assert attempt(room) == PolicyDecision(needs_approval=False)
    with pytest.raises((DailyTotalExceeded, DailyDestinationExceeded)) as info:
        attempt(room + 1)
    if isinstance(info.value, DailyTotalExceeded):
        assert info.value.extra["remaining"] == format_amount(limit - total)
    else:
        assert info.value.extra["remaining"] == format_amount(per_destination - destination_total)


@settings(max_examples=200, deadline=None)
@given(configs, holds_st, st.data())
def test_the_engine_recheck_rejudges_its_payouts_together(
    config: PolicyConfig, holds: dict[str, Hold], data: st.DataObject
) -> None:
    ids = data.draw(st.lists(st.sampled_from(sorted(holds) or ["none"]), unique=True))
    held = {payout_id: holds[payout_id] for payout_id in ids if payout_id in holds}
    judgement = judge_held(config, held, totals=totals_of(holds))
    results = dict(zip(held, judgement.results, strict=True))
    # Statically refused payouts keep their holds; refused on totals give theirs up to the
    # group; the others are counted again from now.
    kept = {
        payout_id: hold
        for payout_id, hold in holds.items()
        if payout_id not in held or not passes_static(config, hold)
    }
    for payout_id, result in results.items():
        if not passes_static(config, held[payout_id]):
            assert isinstance(result, PolicyViolation)
    assert_totals_match(judgement, after(kept, judgement))
    assert {r.payout_id for r in judgement.accepted} == {
        payout_id for payout_id, result in results.items() if isinstance(result, PolicyDecision)
    }


def _kind(result: PolicyDecision | PolicyViolation) -> str | bool:
    return result.code if isinstance(result, PolicyViolation) else result.needs_approval


def test_the_rules_stay_pure() -> None:
    """No database, web framework or HTTP client, and none of the policy's SQL or service."""
    tree = ast.parse(Path(rules.__file__).read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert "tronpay.policy.errors" in imported  # the check sees the imports at all
    forbidden = (
        "sqlalchemy",
        "fastapi",
        "httpx",
        "tronpay.db",
        "tronpay.policy.repository",
        "tronpay.policy.service",
    )
    assert not {name for name in imported if name.startswith(forbidden)}
