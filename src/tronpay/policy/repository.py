"""The policy's SQL: the per-asset lock rows, the rolling sums and the reservations.

Everything runs in the caller's transaction and only flushes; the request or worker edge
commits. The hot-path statements are prebuilt Core statements (no ORM bookkeeping,
compiled once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.db.session import bulk_insert, one_of
from tronpay.kit.chunking import IN_CHUNK, chunked
from tronpay.kit.clock import as_utc
from tronpay.policy.models import PolicyLock, PolicyReservation
from tronpay.policy.rules import Hold, ReservationRequest, RollingTotals

_RES = cast(Table, PolicyReservation.__table__)
_LOCKS = cast(Table, PolicyLock.__table__)
_READ_LOCK = select(_LOCKS.c.updated_at).where(_LOCKS.c.asset == bindparam("lock_asset"))
_READ_LOCK_FOR_UPDATE = _READ_LOCK.with_for_update()
_STAMP_STEP = timedelta(microseconds=1)
_LOCK_ASSET = (
    _LOCKS.update()
    .where(_LOCKS.c.asset == bindparam("lock_asset"))
    .values(updated_at=bindparam("lock_now"))
)
_ACTIVE = _RES.c.released_at.is_(None)
_TOTALS = select(
    func.coalesce(func.sum(_RES.c.amount), 0),
    func.coalesce(
        func.sum(case((_RES.c.destination == bindparam("t_destination"), _RES.c.amount), else_=0)),
        0,
    ),
).where(
    _RES.c.asset == bindparam("t_asset"),
    _ACTIVE,
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
        _ACTIVE,
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
class LockStamps:
    """The stamp the lock row's previous holder left (``None``: never stamped) and ours."""

    previous: datetime | None
    stamp: datetime


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_asset(session: AsyncSession, asset: str, now: datetime) -> LockStamps:
    """Take the asset's lock row (created on first use) and stamp it.

    ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the UPDATE takes the single writer's
    lock. Stamps only grow (``max(now, previous + 1 µs)``), so a stamp a process wrote is
    still there exactly when nobody else has taken the lock since.
    """
    postgres = _postgres(session)
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
    previous = None if row[0] is None else as_utc(row[0])
    stamp = now if previous is None or now > previous else previous + _STAMP_STEP
    await session.execute(_LOCK_ASSET, {"lock_asset": asset, "lock_now": stamp})
    return LockStamps(previous=previous, stamp=stamp)


async def totals_without(
    session: AsyncSession, *, asset: str, destination: str, since: datetime, exclude_payout: str
) -> RollingTotals:
    """The asset's and ``destination``'s rolling totals without ``exclude_payout``'s hold."""
    params = {
        "t_asset": asset,
        "t_destination": destination,
        "t_since": since,
        "t_exclude": exclude_payout,
    }
    row = (await session.execute(_TOTALS, params)).one()
    return RollingTotals(asset_total=int(row[0]), destinations={destination: int(row[1])})


async def rolling_totals(
    session: AsyncSession, *, asset: str, destinations: Sequence[str], since: datetime
) -> RollingTotals:
    """The asset's rolling total and the totals of ``destinations``.

    Up to ``IN_CHUNK`` destinations: ONE pass over the active reservations, grouped by "one
    of ours, or anything else" (the group commit's hot path); more: two queries.
    """
    if len(destinations) > IN_CHUNK:
        return RollingTotals(
            asset_total=await asset_total(session, asset=asset, since=since),
            destinations=await destination_totals(
                session, asset=asset, destinations=destinations, since=since
            ),
        )
    params = {"b_asset": asset, "b_since": since, "b_destinations": list(destinations)}
    total = 0
    totals: dict[str, int] = {}
    for bucket, amount in await session.execute(_BUCKET_TOTALS, params):
        total += int(amount or 0)
        if bucket:
            totals[bucket] = int(amount or 0)
    return RollingTotals(asset_total=total, destinations=totals)


async def asset_total(session: AsyncSession, *, asset: str, since: datetime) -> int:
    stmt = select(func.coalesce(func.sum(_RES.c.amount), 0)).where(
        _RES.c.asset == asset, _ACTIVE, _RES.c.counted_at > since
    )
    return int((await session.execute(stmt)).scalar_one())


async def destination_totals(
    session: AsyncSession, *, asset: str, destinations: Sequence[str], since: datetime
) -> dict[str, int]:
    totals: dict[str, int] = {}
    dialect = session.get_bind().dialect.name
    for chunk in chunked(destinations):
        stmt = (
            select(_RES.c.destination, func.sum(_RES.c.amount))
            .where(
                _RES.c.asset == asset,
                one_of(_RES.c.destination, chunk, dialect),
                _ACTIVE,
                _RES.c.counted_at > since,
            )
            .group_by(_RES.c.destination)
        )
        for destination, total in await session.execute(stmt):
            totals[destination] = int(total or 0)
    return totals


async def active_holds(
    session: AsyncSession, payout_ids: Sequence[str], *, since: datetime
) -> dict[str, Hold]:
    """The active reservations of ``payout_ids`` (missing: none, or released)."""
    found: dict[str, Hold] = {}
    for chunk in chunked(sorted(set(payout_ids))):
        result = await session.execute(
            select(
                _RES.c.payout_id,
                _RES.c.asset,
                _RES.c.destination,
                _RES.c.amount,
                _RES.c.counted_at,
            ).where(_RES.c.payout_id.in_(chunk), _ACTIVE)
        )
        for payout_id, asset, destination, amount, counted_at in result:
            found[payout_id] = Hold(
                asset=asset,
                destination=destination,
                amount=int(amount),
                counted=as_utc(counted_at) > since,
            )
    return found


def _row(reservation: ReservationRequest, now: datetime) -> dict[str, Any]:
    return {
        "payout_id": reservation.payout_id,
        "asset": reservation.asset,
        "destination": reservation.destination,
        "amount": reservation.amount,
        "created_at": now,
        "counted_at": now,
        "released_at": None,
    }


async def insert_new(
    session: AsyncSession, reservations: Sequence[ReservationRequest], *, now: datetime
) -> None:
    """Insert reservations of payouts that have none yet (a bulk insert)."""
    if reservations:
        await bulk_insert(await session.connection(), _RES, [_row(r, now) for r in reservations])


async def upsert(
    session: AsyncSession, reservations: Sequence[ReservationRequest], *, now: datetime
) -> None:
    """Write reservations, replacing a payout's previous one (active or released) and
    counting it from ``now``."""
    if reservations:
        statement = _UPSERT_PG if _postgres(session) else _UPSERT_SQLITE
        await session.execute(statement, [_row(r, now) for r in reservations])


async def restamp(session: AsyncSession, payout_ids: Sequence[str], *, now: datetime) -> None:
    """Count these reservations from ``now`` (the moment the money leaves)."""
    for chunk in chunked(payout_ids):
        await session.execute(
            _RES.update().where(_RES.c.payout_id.in_(chunk)).values(counted_at=now)
        )


async def release(session: AsyncSession, payout_id: str, *, now: datetime) -> bool:
    """Mark the payout's reservation released. True when one was active."""
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            _RES.update().where(_RES.c.payout_id == payout_id, _ACTIVE).values(released_at=now)
        ),
    )
    return result.rowcount > 0
