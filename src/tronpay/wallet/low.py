"""``wallet.low``: tell the operator, once, when the hot wallet runs low.

The engine's upkeep reads the hot wallet every ``TRONPAY_WALLET_LOW_CHECK_S``
(``WalletWatch.step``): its TRX, its USDT and its energy available now. Each configured
threshold (``TRONPAY_WALLET_LOW_TRX``, ``_USDT``, ``_ENERGY``) is a small state machine kept
in ``wallet_alerts`` (so a restart neither forgets nor repeats an alert):

* **armed** -> **fired** when a reading is below the threshold: that transaction writes the
  ``wallet.low`` outbox event (one per crossing);
* **fired** -> **armed** when a reading is back at or above the threshold plus
  ``REARM_PERCENT`` of it (hysteresis: a balance wobbling around the threshold does not send
  an alert per wobble).

Both moves are conditional UPDATEs (``WHERE fired = false`` / ``true``): with several engines
on one PostgreSQL database, the first one that sees the crossing writes the event and the
others change nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, cast

import structlog
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.config import Settings
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.kit.money import format_amount, parse_amount
from tronpay.observability import metrics
from tronpay.payouts.events import emit
from tronpay.tron.node import NodeClient
from tronpay.wallet.models import WalletAlert

log = structlog.get_logger(__name__)

WALLET_LOW: Final = "wallet.low"
# A fired threshold is armed again once a reading is this many percent above it.
REARM_PERCENT: Final = 10
_ALERTS = cast(Table, WalletAlert.__table__)


class AlertKind(StrEnum):
    """What a threshold watches: TRX (sun), USDT (token units) or energy available now."""

    TRX = "TRX"
    USDT = "USDT"
    ENERGY = "energy"


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert when the reading of ``kind`` is below ``limit`` (base units, or energy)."""

    kind: AlertKind
    limit: int

    @property
    def rearm_at(self) -> int:
        """The reading at or above which a fired threshold is armed again."""
        return self.limit + self.limit * REARM_PERCENT // 100


def thresholds_from(settings: Settings) -> tuple[Threshold, ...]:
    """The configured thresholds (none: the watch is off)."""
    found: list[Threshold] = []
    if settings.wallet_low_trx is not None:
        found.append(
            Threshold(AlertKind.TRX, parse_amount(settings.wallet_low_trx, allow_zero=True))
        )
    if settings.wallet_low_usdt is not None:
        found.append(
            Threshold(AlertKind.USDT, parse_amount(settings.wallet_low_usdt, allow_zero=True))
        )
    if settings.wallet_low_energy is not None:
        found.append(Threshold(AlertKind.ENERGY, settings.wallet_low_energy))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class WalletReading:
    """One reading of the hot wallet: TRX in sun, USDT in token units, resources."""

    trx_sun: int
    token_units: int
    energy: int
    bandwidth: int

    def of(self, kind: AlertKind) -> int:
        if kind is AlertKind.TRX:
            return self.trx_sun
        if kind is AlertKind.USDT:
            return self.token_units
        return self.energy


async def read_wallet(node: NodeClient, address: str, token_contract: str) -> WalletReading:
    account, resource, token = await asyncio.gather(
        node.account(address),
        node.account_resource(address),
        node.token_balance(token_contract, address),
    )
    return WalletReading(
        trx_sun=account.balance_sun,
        token_units=token,
        energy=resource.energy_available,
        bandwidth=resource.bandwidth_available,
    )


def display(kind: AlertKind, units: int) -> str:
    """A reading or threshold as the event carries it: a decimal string of TRX or USDT, or
    the energy as an integer string."""
    return str(units) if kind is AlertKind.ENERGY else format_amount(units)


def alert_data(kind: AlertKind, value: int, limit: int, address: str) -> dict[str, Any]:
    """The ``data`` of a ``wallet.low`` event."""
    return {
        "asset_or_resource": kind.value,
        "value": display(kind, value),
        "threshold": display(kind, limit),
        "address": address,
    }


async def _ensure_row(
    session: AsyncSession, address: str, threshold: Threshold, value: int, now: datetime
) -> None:
    values = {
        "address": address,
        "kind": threshold.kind.value,
        "fired": False,
        "threshold": threshold.limit,
        "value": value,
        "changed_at": now,
    }
    stmt: Any
    if session.get_bind().dialect.name == "postgresql":
        stmt = pg_insert(_ALERTS).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite_insert(_ALERTS).values(**values).on_conflict_do_nothing()
    await session.execute(stmt)


async def _move(
    session: AsyncSession,
    address: str,
    threshold: Threshold,
    value: int,
    *,
    fired: bool,
    now: datetime,
) -> bool:
    """Set the threshold's state to ``fired`` if it is not already; whether this call did."""
    result = await session.execute(
        update(_ALERTS)
        .where(
            _ALERTS.c.address == address,
            _ALERTS.c.kind == threshold.kind.value,
            _ALERTS.c.fired.is_(not fired),
        )
        .values(fired=fired, threshold=threshold.limit, value=value, changed_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def observe(
    session: AsyncSession,
    address: str,
    reading: WalletReading,
    thresholds: Sequence[Threshold],
    *,
    now: datetime,
) -> list[AlertKind]:
    """Compare one reading with the thresholds in the caller's transaction: write a
    ``wallet.low`` event for each threshold crossed downwards now (returned), re-arm those
    the reading is well above again."""
    fired_now: list[AlertKind] = []
    for threshold in thresholds:
        value = reading.of(threshold.kind)
        await _ensure_row(session, address, threshold, value, now)
        if value < threshold.limit:
            if await _move(session, address, threshold, value, fired=True, now=now):
                data = alert_data(threshold.kind, value, threshold.limit, address)
                await emit(session, topic=WALLET_LOW, entity_id=address, data=data, now=now)
                log.warning("wallet.low", **data)
                fired_now.append(threshold.kind)
        elif value >= threshold.rearm_at and await _move(
            session, address, threshold, value, fired=False, now=now
        ):
            log.info(
                "wallet.low.rearmed",
                asset_or_resource=threshold.kind.value,
                value=display(threshold.kind, value),
                address=address,
            )
    return fired_now


async def fired_kinds(session: AsyncSession, address: str | None = None) -> set[str]:
    """The kinds whose threshold is fired now (of ``address``, or of any wallet)."""
    stmt = select(_ALERTS.c.kind).where(_ALERTS.c.fired.is_(True))
    if address is not None:
        stmt = stmt.where(_ALERTS.c.address == address)
    return {str(kind) for kind in (await session.execute(stmt)).scalars()}


def set_gauge(fired: set[str]) -> None:
    for kind in metrics.WALLET_LOW_KINDS:
        metrics.WALLET_LOW.labels(kind).set(1 if kind in fired else 0)


@dataclass(frozen=True)
class WalletWatch:
    """The engine's periodic wallet reading: the wallet gauges, then ``observe``."""

    sessionmaker: async_sessionmaker[AsyncSession]
    node: NodeClient
    address: str
    token_contract: str
    thresholds: tuple[Threshold, ...]
    interval_s: float = 60.0

    async def step(self) -> list[AlertKind]:
        reading = await read_wallet(self.node, self.address, self.token_contract)
        metrics.wallet(
            trx_sun=reading.trx_sun,
            token_units=reading.token_units,
            energy=reading.energy,
            bandwidth=reading.bandwidth,
        )
        async with write_transaction(self.sessionmaker) as session:
            fired = await observe(session, self.address, reading, self.thresholds, now=utcnow())
            set_gauge(await fired_kinds(session, self.address))
        return fired
