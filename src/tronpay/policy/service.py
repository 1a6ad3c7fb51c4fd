"""Policy checks and concurrency-safe rolling-24 h reservations (orchestration).

The rules themselves are pure functions in ``policy/rules.py``; the SQL is in
``policy/repository.py``. Every check that reads totals first locks the asset's
``policy_locks`` row, then sums the active reservations and writes the new one, all in the
caller's transaction. Two concurrent requests for the same asset therefore run one after
the other, and together they can never exceed a limit. The caller (the request or worker
edge) commits; this module only flushes.

A payout that already holds a reservation is judged the same way by ``check_and_reserve``
and ``check_and_reserve_many``: without its own hold, with the current configuration, and
its new amount replaces the hold if it passes (see ``policy/rules.py``).

Lock order: assets in sorted order, always before ``audit_chain_head`` (call ``audit.record``
after the policy check) so no two transactions wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.kit.clock import utc_or_now
from tronpay.observability import metrics
from tronpay.policy import repository, rules
from tronpay.policy.config import PolicyConfig
from tronpay.policy.errors import (
    DailyDestinationExceeded,
    DailyTotalExceeded,
    PolicyViolation,
    ReservationMissing,
)
from tronpay.policy.rules import Hold, PolicyDecision, ReservationRequest, RollingTotals

log = structlog.get_logger(__name__)

WINDOW = timedelta(hours=24)
# How long exact totals may be reused (they only over-count as reservations age out).
KNOWN_TOTALS_MAX_AGE = timedelta(seconds=30)
_KNOWN_DESTINATIONS_MAX = 10_000


@dataclass(slots=True)
class _KnownTotals:
    """Rolling totals of one asset this service summed exactly, plus what it reserved since.

    Valid while the asset's lock row still carries ``stamp`` (the stamp this service wrote
    when it last held the lock): every path that can add to the totals (reserve, re-check)
    takes the lock and moves the stamp, in any process. Releases (which only lower the
    totals) and reservations ageing out of the window make these totals too high, never too
    low: a refusal judged on them is re-judged on exact sums, and they are re-summed after
    ``KNOWN_TOTALS_MAX_AGE`` anyway.
    """

    stamp: datetime
    summed_at: datetime
    asset_total: int
    destinations: dict[str, int]


class PolicyService:
    """Applies a ``PolicyConfig``; stateless apart from the configuration and a cache of
    the rolling totals it summed last (``_KnownTotals``)."""

    def __init__(self, config: PolicyConfig, *, window: timedelta = WINDOW) -> None:
        self._config = config
        self._window = window
        self._known: dict[str, _KnownTotals] = {}
        self.exact_sums = 0  # how often the rolling totals were summed (observability, tests)

    @property
    def config(self) -> PolicyConfig:
        return self._config

    # --- pure checks (see policy/rules.py) -----------------------------------------------

    def needs_approval(self, asset: str, amount: int) -> bool:
        """What can be known without the rolling totals: the payout's amount reaches the
        approval threshold (or the destination's rolling approval threshold on its own).
        The check (``check_and_reserve``) may still ask for approval once it has read the
        destination's rolling sum."""
        return rules.needs_approval(self._config.for_asset(asset), amount)

    def check_static(self, *, asset: str, destination: str, amount: int) -> None:
        """Deny list, allow list and the per-payout maximum (no database needed)."""
        rules.check_static(self._config, asset=asset, destination=destination, amount=amount)

    # --- database operations -------------------------------------------------------------

    async def check_and_reserve(
        self,
        session: AsyncSession,
        *,
        payout_id: str,
        asset: str,
        destination: str,
        amount: int,
        now: datetime | None = None,
    ) -> PolicyDecision:
        """Check every rule and hold ``amount`` against the rolling limits.

        Raises a ``PolicyViolation`` subclass and reserves nothing when a rule fails. For a
        payout that already holds a reservation (a retry, or a repeated call) the check runs
        without its previous hold and then replaces it (an upsert), so it is never counted
        twice. Hot path: at most three statements (lock, sums, upsert).
        """
        try:
            return await self._check_and_reserve(
                session,
                payout_id=payout_id,
                asset=asset,
                destination=destination,
                amount=amount,
                now=now,
            )
        except PolicyViolation as violation:
            metrics.POLICY_REJECTIONS.labels(violation.code).inc()
            raise

    async def _check_and_reserve(
        self,
        session: AsyncSession,
        *,
        payout_id: str,
        asset: str,
        destination: str,
        amount: int,
        now: datetime | None,
    ) -> PolicyDecision:
        moment = utc_or_now(now)
        request = ReservationRequest(payout_id, asset.upper(), destination, amount)
        rules.check_request(self._config, request)  # refuse before taking the lock
        totals = RollingTotals(asset_total=0, destinations={})
        if rules.needs_totals(self._config.for_asset(request.asset)):
            await repository.lock_asset(session, request.asset, moment)
            totals = await repository.totals_without(
                session,
                asset=request.asset,
                destination=destination,
                since=moment - self._window,
                exclude_payout=payout_id,
            )
        decision = rules.check(
            self._config,
            request,
            asset_total=totals.asset_total,
            destination_total=totals.destinations.get(destination, 0),
        )
        await repository.upsert(session, [request], now=moment)
        return decision

    async def check_and_reserve_many(
        self,
        session: AsyncSession,
        items: Sequence[ReservationRequest],
        *,
        now: datetime | None = None,
        new_payouts: bool = False,
    ) -> list[PolicyDecision | PolicyViolation]:
        """Batch form: one lock and one set of sums per asset, one bulk write.

        Returns, per item and in order, a ``PolicyDecision`` (reserved) or the
        ``PolicyViolation`` it failed with (nothing reserved for that item). Items are judged
        in order, so earlier items consume capacity first; the outcome is the same as calling
        ``check_and_reserve`` for each item in turn. ``new_payouts=True`` promises that no
        item holds a reservation yet (fresh payout ids): the lookup of held amounts is
        skipped and the reservations are inserted, not upserted.
        """
        moment = utc_or_now(now)
        since = moment - self._window
        holds = (
            {}
            if new_payouts
            else await repository.active_holds(
                session, [item.payout_id for item in items], since=since
            )
        )
        assets = sorted({item.asset.upper() for item in items})
        totals: dict[str, _KnownTotals] = {}
        stamps: dict[str, datetime] = {}
        from_known: set[str] = set()
        for asset in assets:
            if not rules.needs_totals(self._config.for_asset(asset)):
                continue
            lock = await repository.lock_asset(session, asset, moment)
            stamps[asset] = lock.stamp
            destinations = _destinations(asset, items, holds)
            known = self._known.get(asset)
            if (
                known is not None
                and known.stamp == lock.previous
                and moment - known.summed_at < KNOWN_TOTALS_MAX_AGE
            ):
                missing = [d for d in destinations if d not in known.destinations]
                if missing:
                    found = await repository.destination_totals(
                        session, asset=asset, destinations=missing, since=since
                    )
                    known.destinations.update({d: found.get(d, 0) for d in missing})
                totals[asset] = known
                from_known.add(asset)
            else:
                totals[asset] = await self._exact(session, asset, destinations, moment)
        judgement = rules.judge(self._config, items, totals=_view(totals), holds=holds)
        recount = {
            item.asset.upper()
            for item, result in zip(items, judgement.results, strict=True)
            if item.asset.upper() in from_known and self._on_totals(item, result)
        }
        if recount:
            # Refused (or sent for approval) on totals that may count reservations gone
            # since: judge again, exactly.
            for asset in recount:
                destinations = _destinations(asset, items, holds)
                totals[asset] = await self._exact(session, asset, destinations, moment)
            judgement = rules.judge(self._config, items, totals=_view(totals), holds=holds)
        # What this transaction leaves behind, valid while the lock row keeps its new stamp.
        for asset, stamp in stamps.items():
            known = totals[asset]
            known.stamp = stamp
            known.asset_total = judgement.asset_totals.get(asset, 0)
            for destination in known.destinations:
                known.destinations[destination] = judgement.destination_totals.get(
                    (asset, destination), 0
                )
            if len(known.destinations) > _KNOWN_DESTINATIONS_MAX:
                self._known.pop(asset, None)
            else:
                self._known[asset] = known
        if new_payouts:
            await repository.insert_new(session, judgement.accepted, now=moment)
        else:
            await repository.upsert(session, judgement.accepted, now=moment)
        for result in judgement.results:
            if isinstance(result, PolicyViolation):
                metrics.POLICY_REJECTIONS.labels(result.code).inc()
        return list(judgement.results)

    def _on_totals(
        self, item: ReservationRequest, result: PolicyDecision | PolicyViolation
    ) -> bool:
        """Whether ``result`` was decided by the rolling totals: refused on them, or sent for
        approval by the destination's rolling sum alone."""
        if isinstance(result, DailyTotalExceeded | DailyDestinationExceeded):
            return True
        if not isinstance(result, PolicyDecision) or not result.needs_approval:
            return False
        return not rules.needs_approval(self._config.for_asset(item.asset), item.amount)

    async def _exact(
        self, session: AsyncSession, asset: str, destinations: Sequence[str], now: datetime
    ) -> _KnownTotals:
        self.exact_sums += 1
        found = await repository.rolling_totals(
            session, asset=asset, destinations=destinations, since=now - self._window
        )
        return _KnownTotals(
            stamp=now,  # replaced by the lock's stamp once the items are judged
            summed_at=now,
            asset_total=found.asset_total,
            destinations={d: found.destinations.get(d, 0) for d in destinations},
        )

    async def release(
        self, session: AsyncSession, payout_id: str, *, now: datetime | None = None
    ) -> bool:
        """Free the payout's reservation (cancelled or failed). True when one was active."""
        released = await repository.release(session, payout_id, now=utc_or_now(now))
        if released:
            log.info("policy.reservation.released", payout_id=payout_id)
        return released

    async def recheck_many(
        self,
        session: AsyncSession,
        payout_ids: Sequence[str],
        *,
        now: datetime | None = None,
        count_from_now: Collection[str] = (),
    ) -> dict[str, PolicyDecision | PolicyViolation]:
        """Re-check just before signing, with the current configuration (the engine).

        Deny/allow lists and the per-payout maximum are checked again; the rolling totals are
        recomputed without these payouts, which are judged in the given order and must
        still fit (``rules.judge_held``). A payout without an active reservation gets
        ``ReservationMissing``.

        The payouts of ``count_from_now`` that pass are counted from ``now``: the engine
        names those about to be signed for the FIRST time, so a payout that waited days for
        approval counts from when its money leaves. A re-signed payout (its previous attempt
        expired) is never counted again: a reservation moves at most once, so a payout the
        chain keeps refusing cannot hold the rolling limit for good.

        Takes the asset locks in sorted order (the same order as ``check_and_reserve_many``),
        so call it BEFORE writing audit entries in the transaction: that keeps the global lock
        order "policy assets, then audit head" and rules out deadlocks on PostgreSQL.
        """
        moment = utc_or_now(now)
        since = moment - self._window
        ids = list(dict.fromkeys(payout_ids))
        holds = await repository.active_holds(session, ids, since=since)
        held = {payout_id: holds[payout_id] for payout_id in ids if payout_id in holds}
        live_assets = {h.asset for h in held.values() if rules.passes_static(self._config, h)}
        totals: dict[str, RollingTotals] = {}
        for asset in sorted(live_assets):
            if not rules.needs_totals(self._config.for_asset(asset)):
                continue
            await repository.lock_asset(session, asset, moment)
            destinations = sorted({h.destination for h in held.values() if h.asset == asset})
            totals[asset] = await repository.rolling_totals(
                session, asset=asset, destinations=destinations, since=since
            )
        judgement = rules.judge_held(self._config, held, totals=totals)
        fresh = set(count_from_now)
        await repository.restamp(
            session,
            [r.payout_id for r in judgement.accepted if r.payout_id in fresh],
            now=moment,
        )
        results = dict(zip(held, judgement.results, strict=True))
        return {
            payout_id: results[payout_id]
            if payout_id in results
            else ReservationMissing(payout_id=payout_id)
            for payout_id in ids
        }


def _destinations(
    asset: str, items: Sequence[ReservationRequest], holds: Mapping[str, Hold]
) -> list[str]:
    """The destinations whose totals judging ``items`` of ``asset`` reads."""
    wanted = {item.destination for item in items if item.asset.upper() == asset}
    wanted.update(hold.destination for hold in holds.values() if hold.asset == asset)
    return sorted(wanted)


def _view(totals: Mapping[str, _KnownTotals]) -> dict[str, RollingTotals]:
    return {
        asset: RollingTotals(asset_total=known.asset_total, destinations=known.destinations)
        for asset, known in totals.items()
    }
