"""Policy checks and concurrency-safe rolling-24 h reservations.

Every check that reads totals first locks the asset's ``policy_locks`` row with an UPDATE
(a row lock on PostgreSQL, the write lock on SQLite), then sums the active reservations and
inserts the new one, all in the caller's transaction. Two concurrent requests for the same
asset therefore run one after the other, and together they can never exceed a limit. The
caller (the request or worker edge) commits; this module only flushes.

Lock order: assets in sorted order, always before ``audit_chain_head`` (call ``audit.record``
after the policy check) so no two transactions wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Table, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.db.session import bulk_insert, one_of
from tronpay.kit.money import format_amount
from tronpay.policy.config import AssetLimits, PolicyConfig
from tronpay.policy.errors import (
    DailyDestinationExceeded,
    DailyTotalExceeded,
    DeniedDestination,
    DestinationNotAllowed,
    MaxPerPayoutExceeded,
    PolicyViolation,
    ReservationMissing,
)
from tronpay.policy.models import PolicyLock, PolicyReservation

log = structlog.get_logger(__name__)

WINDOW = timedelta(hours=24)
_IN_CHUNK = 500

# Prebuilt Core statements for the hot path (no ORM bookkeeping, compiled once).
_RES = cast(Table, PolicyReservation.__table__)
_LOCKS = cast(Table, PolicyLock.__table__)
_READ_LOCK = select(_LOCKS.c.updated_at).where(_LOCKS.c.asset == bindparam("lock_asset"))
_READ_LOCK_FOR_UPDATE = _READ_LOCK.with_for_update()
_STAMP_STEP = timedelta(microseconds=1)
# How long exact totals may be reused (they only over-count as reservations age out).
KNOWN_TOTALS_MAX_AGE = timedelta(seconds=30)
_KNOWN_DESTINATIONS_MAX = 10_000
_LOCK_ASSET = (
    _LOCKS.update()
    .where(_LOCKS.c.asset == bindparam("lock_asset"))
    .values(updated_at=bindparam("lock_now"))
)
_TOTALS = select(
    func.coalesce(func.sum(_RES.c.amount), 0),
    func.coalesce(
        func.sum(case((_RES.c.destination == bindparam("t_destination"), _RES.c.amount), else_=0)),
        0,
    ),
).where(
    _RES.c.asset == bindparam("t_asset"),
    _RES.c.released_at.is_(None),
    _RES.c.counted_at > bindparam("t_since"),
    _RES.c.payout_id != bindparam("t_exclude"),
)
# One pass: the sum per destination of interest, everything else in the '' bucket.
_BUCKET = case(
    (_RES.c.destination.in_(bindparam("b_destinations", expanding=True)), _RES.c.destination),
    else_="",
)
_BUCKET_TOTALS = (
    select(_BUCKET, func.sum(_RES.c.amount))
    .where(
        _RES.c.asset == bindparam("b_asset"),
        _RES.c.released_at.is_(None),
        _RES.c.counted_at > bindparam("b_since"),
    )
    .group_by(_BUCKET)
)
_UPSERT_COLUMNS = ("asset", "destination", "amount", "counted_at", "released_at")
_pg_upsert = pg_insert(_RES)
_UPSERT_PG = _pg_upsert.on_conflict_do_update(
    index_elements=[_RES.c.payout_id],
    set_={name: _pg_upsert.excluded[name] for name in _UPSERT_COLUMNS},
)
_sqlite_upsert = sqlite_insert(_RES)
_UPSERT_SQLITE = _sqlite_upsert.on_conflict_do_update(
    index_elements=[_RES.c.payout_id],
    set_={name: _sqlite_upsert.excluded[name] for name in _UPSERT_COLUMNS},
)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The outcome of a passed check: whether the payout must wait for a second person."""

    needs_approval: bool


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


@dataclass(frozen=True, slots=True)
class _Judgement:
    results: list[PolicyDecision | PolicyViolation]
    rows: list[dict[str, Any]]
    asset_totals: dict[str, int]
    destination_totals: dict[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """One item of ``check_and_reserve_many``."""

    payout_id: str
    asset: str
    destination: str
    amount: int


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PolicyService:
    """Applies a ``PolicyConfig``; stateless apart from the configuration."""

    def __init__(self, config: PolicyConfig, *, window: timedelta = WINDOW) -> None:
        self._config = config
        self._window = window
        self._known: dict[str, _KnownTotals] = {}
        self.exact_sums = 0  # how often the rolling totals were summed (observability, tests)

    @property
    def config(self) -> PolicyConfig:
        return self._config

    # --- pure checks ---------------------------------------------------------------------

    def needs_approval(self, asset: str, amount: int) -> bool:
        threshold = self._config.for_asset(asset).approval_threshold
        return threshold is not None and amount >= threshold

    def check_static(self, *, asset: str, destination: str, amount: int) -> None:
        """Deny list, allow list and the per-payout maximum (no database needed)."""
        if destination in self._config.deny_list:
            raise DeniedDestination(destination=destination)
        allow = self._config.allow_list
        if allow is not None and destination not in allow:
            raise DestinationNotAllowed(destination=destination)
        limit = self._config.for_asset(asset).max_per_payout
        if limit is not None and amount > limit:
            raise MaxPerPayoutExceeded(
                f"{format_amount(amount)} {asset} is above the per-payout limit "
                f"of {format_amount(limit)} {asset}",
                asset=asset,
                limit=format_amount(limit),
            )

    def _check_totals(
        self,
        *,
        asset: str,
        destination: str,
        amount: int,
        asset_total: int,
        destination_total: int,
    ) -> None:
        limits = self._config.for_asset(asset)
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

    @staticmethod
    def _needs_totals(limits: AssetLimits) -> bool:
        return limits.daily_total is not None or limits.daily_per_destination is not None

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
        moment = _utc(now)
        asset = asset.upper()
        if amount <= 0:
            raise PolicyViolation("the amount must be positive")
        self.check_static(asset=asset, destination=destination, amount=amount)
        limits = self._config.for_asset(asset)
        if self._needs_totals(limits):
            await self._lock_asset(session, asset, moment)
            asset_total, destination_total = await self._totals(
                session,
                asset=asset,
                destination=destination,
                now=moment,
                exclude_payout=payout_id,
            )
            self._check_totals(
                asset=asset,
                destination=destination,
                amount=amount,
                asset_total=asset_total,
                destination_total=destination_total,
            )
        await session.execute(
            self._upsert(session),
            {
                "payout_id": payout_id,
                "asset": asset,
                "destination": destination,
                "amount": amount,
                "created_at": moment,
                "counted_at": moment,
                "released_at": None,
            },
        )
        return PolicyDecision(needs_approval=self.needs_approval(asset, amount))

    @staticmethod
    def _upsert(session: AsyncSession) -> Any:
        return _UPSERT_PG if session.get_bind().dialect.name == "postgresql" else _UPSERT_SQLITE

    async def check_and_reserve_many(
        self,
        session: AsyncSession,
        items: Sequence[ReservationRequest],
        *,
        now: datetime | None = None,
        new_payouts: bool = False,
    ) -> list[PolicyDecision | PolicyViolation]:
        """Batch form: one lock and one set of sums per asset, one bulk insert.

        Returns, per item and in order, a ``PolicyDecision`` (reserved) or the
        ``PolicyViolation`` it failed with (nothing reserved for that item). Items are judged
        in order, so earlier items consume capacity first. ``new_payouts=True`` promises that
        no item holds a reservation yet (fresh payout ids): the lookup of held amounts is
        skipped.
        """
        moment = _utc(now)
        existing = (
            {}
            if new_payouts
            else await self._existing_reservations(session, [item.payout_id for item in items])
        )
        assets = sorted({item.asset.upper() for item in items})
        totals: dict[str, _KnownTotals] = {}
        stamps: dict[str, datetime] = {}
        from_known: set[str] = set()
        for asset in assets:
            if not self._needs_totals(self._config.for_asset(asset)):
                continue
            previous, stamps[asset] = await self._lock_asset(session, asset, moment)
            destinations = sorted({i.destination for i in items if i.asset.upper() == asset})
            known = self._known.get(asset)
            if (
                known is not None
                and known.stamp == previous
                and moment - known.summed_at < KNOWN_TOTALS_MAX_AGE
            ):
                missing = [d for d in destinations if d not in known.destinations]
                if missing:
                    found = await self._destination_totals(
                        session, asset=asset, destinations=missing, now=moment
                    )
                    known.destinations.update({d: found.get(d, 0) for d in missing})
                totals[asset] = known
                from_known.add(asset)
            else:
                totals[asset] = await self._exact(session, asset, destinations, moment)
        judgement = self._judge(items, existing, totals, moment)
        recount = {
            item.asset.upper()
            for item, result in zip(items, judgement.results, strict=True)
            if isinstance(result, DailyTotalExceeded | DailyDestinationExceeded)
            and item.asset.upper() in from_known
        }
        if recount:
            # Refused on totals that may count reservations gone since: judge again, exactly.
            for asset in recount:
                destinations = sorted({i.destination for i in items if i.asset.upper() == asset})
                totals[asset] = await self._exact(session, asset, destinations, moment)
            judgement = self._judge(items, existing, totals, moment)
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
        results, rows = judgement.results, judgement.rows
        if rows:
            # A Core executemany: no ORM bookkeeping and no RETURNING per row.
            await bulk_insert(await session.connection(), _RES, rows)
        return results

    async def _exact(
        self, session: AsyncSession, asset: str, destinations: Sequence[str], now: datetime
    ) -> _KnownTotals:
        self.exact_sums += 1
        asset_total, per_destination = await self._all_totals(
            session, asset=asset, destinations=destinations, now=now
        )
        return _KnownTotals(
            stamp=now,  # replaced by the lock's stamp once the items are judged
            summed_at=now,
            asset_total=asset_total,
            destinations={d: per_destination.get(d, 0) for d in destinations},
        )

    def _judge(
        self,
        items: Sequence[ReservationRequest],
        existing: dict[str, int],
        totals: dict[str, _KnownTotals],
        moment: datetime,
    ) -> _Judgement:
        """Judge ``items`` in order against ``totals`` (not modified): each accepted amount
        counts for the items after it."""
        asset_totals = {asset: known.asset_total for asset, known in totals.items()}
        destination_totals = {
            (asset, destination): total
            for asset, known in totals.items()
            for destination, total in known.destinations.items()
        }
        results: list[PolicyDecision | PolicyViolation] = []
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in items:
            asset = item.asset.upper()
            held = existing.get(item.payout_id)
            if item.payout_id in seen or held is not None:
                amount = held if held is not None else item.amount
                results.append(PolicyDecision(needs_approval=self.needs_approval(asset, amount)))
                continue
            try:
                if item.amount <= 0:
                    raise PolicyViolation("the amount must be positive")
                self.check_static(asset=asset, destination=item.destination, amount=item.amount)
                key = (asset, item.destination)
                self._check_totals(
                    asset=asset,
                    destination=item.destination,
                    amount=item.amount,
                    asset_total=asset_totals.get(asset, 0),
                    destination_total=destination_totals.get(key, 0),
                )
            except PolicyViolation as violation:
                results.append(violation)
                continue
            asset_totals[asset] = asset_totals.get(asset, 0) + item.amount
            destination_totals[key] = destination_totals.get(key, 0) + item.amount
            seen.add(item.payout_id)
            rows.append(
                {
                    "payout_id": item.payout_id,
                    "asset": asset,
                    "destination": item.destination,
                    "amount": item.amount,
                    "created_at": moment,
                    "counted_at": moment,
                }
            )
            results.append(PolicyDecision(needs_approval=self.needs_approval(asset, item.amount)))
        return _Judgement(results, rows, asset_totals, destination_totals)

    async def release(
        self, session: AsyncSession, payout_id: str, *, now: datetime | None = None
    ) -> bool:
        """Free the payout's reservation (cancelled or failed). True when one was active."""
        result = cast(
            "CursorResult[Any]",
            await session.execute(
                update(PolicyReservation)
                .where(
                    PolicyReservation.payout_id == payout_id,
                    PolicyReservation.released_at.is_(None),
                )
                .values(released_at=_utc(now))
                .execution_options(synchronize_session=False)
            ),
        )
        released = result.rowcount > 0
        if released:
            log.info("policy.reservation.released", payout_id=payout_id)
        return released

    async def recheck(
        self, session: AsyncSession, *, payout_id: str, now: datetime | None = None
    ) -> PolicyDecision:
        """Re-check just before signing, with the current configuration.

        Deny/allow lists and the per-payout maximum are checked again; the rolling totals are
        recomputed without this payout, which must still fit; then the reservation is
        re-stamped to ``now`` so it counts for the 24 h after the money actually leaves.
        Raises ``ReservationMissing`` when the payout holds no active reservation.
        """
        moment = _utc(now)
        reservation = await self._reservation(session, payout_id)
        if reservation is None or reservation.released_at is not None:
            raise ReservationMissing(payout_id=payout_id)
        asset = reservation.asset
        self.check_static(
            asset=asset, destination=reservation.destination, amount=reservation.amount
        )
        if self._needs_totals(self._config.for_asset(asset)):
            await self._lock_asset(session, asset, moment)
            asset_total, destination_total = await self._totals(
                session,
                asset=asset,
                destination=reservation.destination,
                now=moment,
                exclude_payout=payout_id,
            )
            self._check_totals(
                asset=asset,
                destination=reservation.destination,
                amount=reservation.amount,
                asset_total=asset_total,
                destination_total=destination_total,
            )
        reservation.counted_at = moment
        await session.flush()
        return PolicyDecision(needs_approval=self.needs_approval(asset, reservation.amount))

    async def recheck_many(
        self, session: AsyncSession, payout_ids: Sequence[str], *, now: datetime | None = None
    ) -> dict[str, PolicyDecision | PolicyViolation]:
        """Batch form of ``recheck`` for the engine: one lock and one set of sums per asset.

        Takes the asset locks in sorted order (the same order as ``check_and_reserve_many``),
        so call it BEFORE writing audit entries in the transaction: that keeps the global lock
        order "policy assets, then audit head" and rules out deadlocks on PostgreSQL.
        Payouts are judged in the given order; those that pass are re-stamped to ``now``.
        """
        moment = _utc(now)
        since = moment - self._window
        ids = list(dict.fromkeys(payout_ids))
        found: dict[str, Any] = {}
        for chunk in _chunks(ids):
            result = await session.execute(select(_RES).where(_RES.c.payout_id.in_(chunk)))
            found.update({row.payout_id: row for row in result})
        results: dict[str, PolicyDecision | PolicyViolation] = {}
        live = []
        for payout_id in ids:
            row = found.get(payout_id)
            if row is None or row.released_at is not None:
                results[payout_id] = ReservationMissing(payout_id=payout_id)
                continue
            try:
                self.check_static(asset=row.asset, destination=row.destination, amount=row.amount)
            except PolicyViolation as violation:
                results[payout_id] = violation
                continue
            live.append(row)
        asset_totals: dict[str, int] = {}
        destination_totals: dict[tuple[str, str], int] = {}
        for asset in sorted({row.asset for row in live}):
            if not self._needs_totals(self._config.for_asset(asset)):
                continue
            await self._lock_asset(session, asset, moment)
            rows = [row for row in live if row.asset == asset]
            destinations = sorted({row.destination for row in rows})
            asset_totals[asset] = await self._asset_total(session, asset=asset, now=moment)
            per_destination = await self._destination_totals(
                session, asset=asset, destinations=destinations, now=moment
            )
            for destination, total in per_destination.items():
                destination_totals[(asset, destination)] = total
            # Judge each payout without its own current hold; it is added back if it passes.
            for row in rows:
                if _utc(row.counted_at) > since:
                    asset_totals[asset] -= row.amount
                    key = (asset, row.destination)
                    destination_totals[key] = destination_totals.get(key, 0) - row.amount
        passed: list[str] = []
        for row in live:
            key = (row.asset, row.destination)
            try:
                self._check_totals(
                    asset=row.asset,
                    destination=row.destination,
                    amount=row.amount,
                    asset_total=asset_totals.get(row.asset, 0),
                    destination_total=destination_totals.get(key, 0),
                )
            except PolicyViolation as violation:
                results[row.payout_id] = violation
                continue
            asset_totals[row.asset] = asset_totals.get(row.asset, 0) + row.amount
            destination_totals[key] = destination_totals.get(key, 0) + row.amount
            passed.append(row.payout_id)
            results[row.payout_id] = PolicyDecision(
                needs_approval=self.needs_approval(row.asset, row.amount)
            )
        for chunk in _chunks(passed):
            await session.execute(
                _RES.update().where(_RES.c.payout_id.in_(chunk)).values(counted_at=moment)
            )
        return {payout_id: results[payout_id] for payout_id in ids}

    # --- helpers -------------------------------------------------------------------------

    async def _reservation(self, session: AsyncSession, payout_id: str) -> PolicyReservation | None:
        result = await session.execute(
            select(PolicyReservation).where(PolicyReservation.payout_id == payout_id)
        )
        return result.scalar_one_or_none()

    async def _existing_reservations(
        self, session: AsyncSession, payout_ids: Sequence[str]
    ) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(payout_ids))):
            result = await session.execute(
                select(PolicyReservation.payout_id, PolicyReservation.amount).where(
                    PolicyReservation.payout_id.in_(chunk),
                    PolicyReservation.released_at.is_(None),
                )
            )
            found.update({row[0]: row[1] for row in result})
        return found

    async def _lock_asset(
        self, session: AsyncSession, asset: str, now: datetime
    ) -> tuple[datetime | None, datetime]:
        """Take the asset's lock row (created on first use) and stamp it.

        Returns the stamp the previous holder left and the new one. Stamps only grow
        (``max(now, previous + 1 µs)``), so a stamp this service wrote is still there exactly
        when nobody else has taken the lock since (see ``_KnownTotals``).
        """
        postgres = session.get_bind().dialect.name == "postgresql"
        read = _READ_LOCK_FOR_UPDATE if postgres else _READ_LOCK
        params = {"lock_asset": asset}
        row = (await session.execute(read, params)).first()
        if row is None:
            if postgres:
                stmt: Any = pg_insert(_LOCKS).values(asset=asset).on_conflict_do_nothing()
            else:
                stmt = sqlite_insert(_LOCKS).values(asset=asset).on_conflict_do_nothing()
            await session.execute(stmt)
            row = (await session.execute(read, params)).one()
        previous = None if row[0] is None else _utc(row[0])
        stamp = now if previous is None or now > previous else previous + _STAMP_STEP
        await session.execute(_LOCK_ASSET, {"lock_asset": asset, "lock_now": stamp})
        return previous, stamp

    def _active(self, now: datetime) -> list[Any]:
        return [
            PolicyReservation.released_at.is_(None),
            PolicyReservation.counted_at > now - self._window,
        ]

    async def _totals(
        self,
        session: AsyncSession,
        *,
        asset: str,
        destination: str,
        now: datetime,
        exclude_payout: str | None = None,
    ) -> tuple[int, int]:
        params = {
            "t_asset": asset,
            "t_destination": destination,
            "t_since": now - self._window,
            "t_exclude": exclude_payout or "",
        }
        row = (await session.execute(_TOTALS, params)).one()
        return int(row[0]), int(row[1])

    async def _all_totals(
        self, session: AsyncSession, *, asset: str, destinations: Sequence[str], now: datetime
    ) -> tuple[int, dict[str, int]]:
        """The asset's rolling total and the totals of ``destinations``.

        Up to ``_IN_CHUNK`` destinations: ONE pass over the active reservations, grouped by
        "one of ours, or anything else" (the group commit's hot path); more: two queries.
        """
        if len(destinations) > _IN_CHUNK:
            total = await self._asset_total(session, asset=asset, now=now)
            return total, await self._destination_totals(
                session, asset=asset, destinations=destinations, now=now
            )
        params = {
            "b_asset": asset,
            "b_since": now - self._window,
            "b_destinations": list(destinations),
        }
        total = 0
        totals: dict[str, int] = {}
        for bucket, amount in await session.execute(_BUCKET_TOTALS, params):
            total += int(amount or 0)
            if bucket:
                totals[bucket] = int(amount or 0)
        return total, totals

    async def _asset_total(self, session: AsyncSession, *, asset: str, now: datetime) -> int:
        stmt = select(func.coalesce(func.sum(PolicyReservation.amount), 0)).where(
            PolicyReservation.asset == asset, *self._active(now)
        )
        return int((await session.execute(stmt)).scalar_one())

    async def _destination_totals(
        self, session: AsyncSession, *, asset: str, destinations: Sequence[str], now: datetime
    ) -> dict[str, int]:
        totals: dict[str, int] = {}
        for chunk in _chunks(destinations):
            stmt = (
                select(PolicyReservation.destination, func.sum(PolicyReservation.amount))
                .where(
                    PolicyReservation.asset == asset,
                    one_of(
                        cast(Any, PolicyReservation.destination),
                        chunk,
                        session.get_bind().dialect.name,
                    ),
                    *self._active(now),
                )
                .group_by(PolicyReservation.destination)
            )
            for destination, total in await session.execute(stmt):
                totals[destination] = int(total or 0)
        return totals
