"""The payout policy's rules as pure functions: no database, no clock, no I/O.

Amounts are integers in base units. A rule that fails raises a ``PolicyViolation`` subclass;
``judge`` collects them per item instead. The service (``policy/service.py``) reads the
rolling totals and the payouts' current holds from the database, asks these functions, and
writes what they accepted.

How a payout that already holds a reservation is judged (the same for one payout and for a
group): its own hold is taken out of the rolling totals, the payout is judged with the
current configuration, and if it passes its new amount replaces the hold. So a repeated
check never counts a payout twice, and never lets through a payout the limits now refuse.
A refused payout keeps its previous hold (the caller decides whether to release it).

To add a rule: write a ``check_*`` function here over integers and ``AssetLimits`` and call
it from ``check``; both the single and the group path then apply it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tronpay.kit.money import format_amount
from tronpay.policy.config import AssetLimits, PolicyConfig
from tronpay.policy.errors import (
    DailyDestinationExceeded,
    DailyTotalExceeded,
    DeniedDestination,
    DestinationNotAllowed,
    MaxPerPayoutExceeded,
    PolicyViolation,
)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The outcome of a passed check: whether the payout must wait for a second person."""

    needs_approval: bool


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """One payout to check: what it sends, and to whom."""

    payout_id: str
    asset: str
    destination: str
    amount: int


@dataclass(frozen=True, slots=True)
class Hold:
    """A payout's active reservation. ``counted``: it lies inside the rolling window, so it
    is part of the rolling totals (a hold that aged out counts for nothing)."""

    asset: str
    destination: str
    amount: int
    counted: bool


@dataclass(frozen=True, slots=True)
class RollingTotals:
    """One asset's rolling total and the totals of some of its destinations (a destination
    missing from ``destinations`` has a total of 0)."""

    asset_total: int
    destinations: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Judgement:
    """What ``judge`` decided.

    ``results``: per item, in order. ``accepted``: the reservations to write, one per payout
    (its last accepted item, asset upper-cased), in first-accepted order. ``asset_totals``
    and ``destination_totals``: the totals once they are written.
    """

    results: tuple[PolicyDecision | PolicyViolation, ...]
    accepted: tuple[ReservationRequest, ...]
    asset_totals: Mapping[str, int]
    destination_totals: Mapping[tuple[str, str], int]


def needs_totals(limits: AssetLimits) -> bool:
    """Whether any rule of ``limits`` reads the rolling totals."""
    return (
        limits.daily_total is not None
        or limits.daily_per_destination is not None
        or limits.daily_approval_per_destination is not None
    )


def needs_approval(limits: AssetLimits, amount: int, destination_total: int = 0) -> bool:
    """Whether a payout of ``amount`` must wait for a second person: its amount reaches
    ``approval_threshold``, or the destination's rolling sum with it (``destination_total``
    holds what the destination already has in the window) reaches
    ``daily_approval_per_destination``. With ``destination_total`` 0 this is what can be
    known before the totals are read (the create path's first guess)."""
    threshold = limits.approval_threshold
    if threshold is not None and amount >= threshold:
        return True
    rolling = limits.daily_approval_per_destination
    return rolling is not None and destination_total + amount >= rolling


def check_static(config: PolicyConfig, *, asset: str, destination: str, amount: int) -> None:
    """Deny list, allow list and the per-payout maximum (no totals needed)."""
    if destination in config.deny_list:
        raise DeniedDestination(destination=destination)
    allow = config.allow_list
    if allow is not None and destination not in allow:
        raise DestinationNotAllowed(destination=destination)
    limit = config.for_asset(asset).max_per_payout
    if limit is not None and amount > limit:
        raise MaxPerPayoutExceeded(
            f"{format_amount(amount)} {asset} is above the per-payout limit "
            f"of {format_amount(limit)} {asset}",
            asset=asset,
            limit=format_amount(limit),
        )


def check_totals(
    limits: AssetLimits,
    *,
    asset: str,
    destination: str,
    amount: int,
    asset_total: int,
    destination_total: int,
) -> None:
    """The rolling limits: ``amount`` must fit on top of the totals (exactly the limit fits)."""
    if limits.daily_total is not None and asset_total + amount > limits.daily_total:
        raise DailyTotalExceeded(
            f"the rolling 24 h limit of {format_amount(limits.daily_total)} {asset} "
            "would be exceeded",
            asset=asset,
            limit=format_amount(limits.daily_total),
            remaining=format_amount(max(limits.daily_total - asset_total, 0)),
        )
    per_destination = limits.daily_per_destination
    if per_destination is not None and destination_total + amount > per_destination:
        raise DailyDestinationExceeded(
            f"the rolling 24 h limit of {format_amount(per_destination)} {asset} "
            "for this destination would be exceeded",
            asset=asset,
            destination=destination,
            limit=format_amount(per_destination),
            remaining=format_amount(max(per_destination - destination_total, 0)),
        )


def check_request(config: PolicyConfig, request: ReservationRequest) -> None:
    """The rules that need no totals: a positive amount, the lists, the per-payout maximum."""
    if request.amount <= 0:
        raise PolicyViolation("the amount must be positive")
    check_static(
        config,
        asset=request.asset.upper(),
        destination=request.destination,
        amount=request.amount,
    )


def check(
    config: PolicyConfig,
    request: ReservationRequest,
    *,
    asset_total: int,
    destination_total: int,
) -> PolicyDecision:
    """Every rule for one payout, against totals that do not contain its own hold."""
    check_request(config, request)
    asset = request.asset.upper()
    limits = config.for_asset(asset)
    if needs_totals(limits):
        check_totals(
            limits,
            asset=asset,
            destination=request.destination,
            amount=request.amount,
            asset_total=asset_total,
            destination_total=destination_total,
        )
    return PolicyDecision(needs_approval=needs_approval(limits, request.amount, destination_total))


def judge(
    config: PolicyConfig,
    items: Sequence[ReservationRequest],
    *,
    totals: Mapping[str, RollingTotals],
    holds: Mapping[str, Hold],
) -> Judgement:
    """Judge ``items`` in order; each accepted amount counts for the items after it.

    ``totals`` (per upper-cased asset) include every hold in ``holds`` that is ``counted``.
    An item whose payout holds a reservation (in ``holds``, or accepted earlier in
    ``items``) is judged without that hold and, if it passes, replaces it; if it is refused,
    the hold stays counted.
    """
    asset_totals = {asset: known.asset_total for asset, known in totals.items()}
    destination_totals = {
        (asset, destination): total
        for asset, known in totals.items()
        for destination, total in known.destinations.items()
    }
    current = dict(holds)
    accepted: dict[str, ReservationRequest] = {}
    results: list[PolicyDecision | PolicyViolation] = []

    def add(hold: Hold, sign: int) -> None:
        if hold.counted:
            key = (hold.asset, hold.destination)
            asset_totals[hold.asset] = asset_totals.get(hold.asset, 0) + sign * hold.amount
            destination_totals[key] = destination_totals.get(key, 0) + sign * hold.amount

    for item in items:
        asset = item.asset.upper()
        held = current.get(item.payout_id)
        if held is not None:
            add(held, -1)
        try:
            decision = check(
                config,
                item,
                asset_total=asset_totals.get(asset, 0),
                destination_total=destination_totals.get((asset, item.destination), 0),
            )
        except PolicyViolation as violation:
            if held is not None:
                add(held, +1)
            results.append(violation)
            continue
        hold = Hold(asset=asset, destination=item.destination, amount=item.amount, counted=True)
        add(hold, +1)
        current[item.payout_id] = hold
        accepted[item.payout_id] = ReservationRequest(
            payout_id=item.payout_id,
            asset=asset,
            destination=item.destination,
            amount=item.amount,
        )
        results.append(decision)
    return Judgement(
        results=tuple(results),
        accepted=tuple(accepted.values()),
        asset_totals=asset_totals,
        destination_totals=destination_totals,
    )


def judge_held(
    config: PolicyConfig,
    held: Mapping[str, Hold],
    *,
    totals: Mapping[str, RollingTotals],
) -> Judgement:
    """The engine's re-check of payouts that already hold reservations (``held``: the hold
    by payout id, in the order to judge; ``totals`` include every counted hold).

    The holds of every payout that still passes the static rules are taken out of the
    totals first, then the payouts are judged in order as if requested again: the group is
    re-judged together, so a payout refused on totals leaves its capacity to the ones after
    it (it stays blocked and is re-checked again before it can be sent). A payout refused by
    a static rule keeps its hold counted.
    """
    asset_totals = {asset: known.asset_total for asset, known in totals.items()}
    destinations: dict[str, dict[str, int]] = {
        asset: dict(known.destinations) for asset, known in totals.items()
    }
    for hold in held.values():
        if not hold.counted or not passes_static(config, hold):
            continue
        asset_totals[hold.asset] = asset_totals.get(hold.asset, 0) - hold.amount
        by_destination = destinations.setdefault(hold.asset, {})
        by_destination[hold.destination] = by_destination.get(hold.destination, 0) - hold.amount
    released = {
        asset: RollingTotals(asset_total=total, destinations=destinations.get(asset, {}))
        for asset, total in asset_totals.items()
    }
    items = [
        ReservationRequest(payout_id, hold.asset, hold.destination, hold.amount)
        for payout_id, hold in held.items()
    ]
    return judge(config, items, totals=released, holds={})


def passes_static(config: PolicyConfig, hold: Hold) -> bool:
    """Whether a held payout still passes the lists and the per-payout maximum."""
    try:
        check_static(config, asset=hold.asset, destination=hold.destination, amount=hold.amount)
    except PolicyViolation:
        return False
    return True
