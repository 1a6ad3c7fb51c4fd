"""``wallet.low`` on SQLite and PostgreSQL: the thresholds from the settings, one event per
downward crossing (edge-triggered), re-armed only well above the threshold (hysteresis), the
state kept across restarts, one event when several engines see the same crossing, and the
engine's watch reading the real devnet wallet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.support import DEMO_KEY, USDT_HEX
from tron_devnet.testing import DevnetHandle
from tronpay.config import Settings
from tronpay.db.session import create_engine, create_sessionmaker, write_transaction
from tronpay.kit.clock import utcnow
from tronpay.kit.money import format_amount
from tronpay.observability.metrics import WALLET_LOW
from tronpay.observability.scrape import DatabaseGauges
from tronpay.tron.node import NodeClient
from tronpay.wallet.low import (
    AlertKind,
    Threshold,
    WalletReading,
    WalletWatch,
    observe,
    thresholds_from,
)
from tronpay.wallet.models import WalletAlert
from tronpay.webhooks.models import OutboxEvent

ADDRESS = DEMO_KEY.address
TRX = Threshold(AlertKind.TRX, 100_000_000)  # 100 TRX
USDT = Threshold(AlertKind.USDT, 50_000_000)  # 50 USDT
ENERGY = Threshold(AlertKind.ENERGY, 65_000)
ALL = (TRX, USDT, ENERGY)
PLENTY = WalletReading(trx_sun=500_000_000, token_units=900_000_000, energy=200_000, bandwidth=0)


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value("tronpay_wallet_low", {"kind": kind})


async def events(maker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with maker() as session:
        rows = await session.execute(
            select(OutboxEvent.payload, OutboxEvent.entity_id)
            .where(OutboxEvent.topic == "wallet.low")
            .order_by(OutboxEvent.id)
        )
        out = []
        for payload, entity_id in rows.all():
            assert entity_id == ADDRESS
            out.append(payload["data"])
        return out


async def see(maker: async_sessionmaker[AsyncSession], reading: WalletReading) -> list[str]:
    async with write_transaction(maker) as session:
        fired = await observe(session, ADDRESS, reading, ALL, now=utcnow())
    return [k.value for k in fired]


def test_thresholds_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert thresholds_from(Settings()) == ()
    monkeypatch.setenv("TRONPAY_WALLET_LOW_TRX", "12.5")
    monkeypatch.setenv("TRONPAY_WALLET_LOW_USDT", "1000")
    monkeypatch.setenv("TRONPAY_WALLET_LOW_ENERGY", "65000")
    monkeypatch.setenv("TRONPAY_WALLET_LOW_CHECK_S", "15")
    settings = Settings()
    assert thresholds_from(settings) == (
        Threshold(AlertKind.TRX, 12_500_000),
        Threshold(AlertKind.USDT, 1_000_000_000),
        Threshold(AlertKind.ENERGY, 65_000),
    )
    assert settings.wallet_low_check_s == 15
    monkeypatch.setenv("TRONPAY_WALLET_LOW_TRX", "")
    monkeypatch.setenv("TRONPAY_WALLET_LOW_ENERGY", "")
    assert thresholds_from(Settings()) == (Threshold(AlertKind.USDT, 1_000_000_000),)
    for bad in ("-1", "1e3", "0.0000001", "ten"):
        monkeypatch.setenv("TRONPAY_WALLET_LOW_USDT", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_rearm_level_is_ten_percent_above() -> None:
    assert TRX.rearm_at == 110_000_000
    assert Threshold(AlertKind.ENERGY, 0).rearm_at == 0


async def test_one_event_per_crossing_with_hysteresis(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await see(sessionmaker, PLENTY) == []
    assert await events(sessionmaker) == []

    low_trx = replace(PLENTY, trx_sun=99_999_999)
    assert await see(sessionmaker, low_trx) == ["TRX"]
    assert await see(sessionmaker, low_trx) == []  # still low: no second event
    # back just above the threshold, inside the hysteresis band, then down again: no event
    assert await see(sessionmaker, replace(PLENTY, trx_sun=105_000_000)) == []
    assert await see(sessionmaker, replace(PLENTY, trx_sun=90_000_000)) == []
    # well above (>= 110 TRX) re-arms; the next drop is a new crossing
    assert await see(sessionmaker, replace(PLENTY, trx_sun=110_000_000)) == []
    assert await see(sessionmaker, replace(PLENTY, trx_sun=1)) == ["TRX"]

    # each threshold on its own; all three at once
    assert await see(sessionmaker, replace(PLENTY, token_units=0, energy=64_999)) == [
        "USDT",
        "energy",
    ]
    assert await events(sessionmaker) == [
        {
            "asset_or_resource": "TRX",
            "value": "99.999999",
            "threshold": "100",
            "address": ADDRESS,
        },
        {"asset_or_resource": "TRX", "value": "0.000001", "threshold": "100", "address": ADDRESS},
        {"asset_or_resource": "USDT", "value": "0", "threshold": "50", "address": ADDRESS},
        {
            "asset_or_resource": "energy",
            "value": "64999",
            "threshold": "65000",
            "address": ADDRESS,
        },
    ]


async def test_the_state_survives_a_restart(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    low = replace(PLENTY, energy=10)
    assert await see(sessionmaker, low) == ["energy"]
    # a new process: new engine, new sessions, same database
    other = create_engine(db_url)
    try:
        fresh = create_sessionmaker(other)
        assert await see(fresh, low) == []
        async with fresh() as session:
            alert = await session.get(WalletAlert, (ADDRESS, "energy"))
            assert alert is not None
            assert alert.fired is True
            assert alert.value == 10
    finally:
        await other.dispose()
    assert len(await events(sessionmaker)) == 1


async def test_several_engines_seeing_one_crossing_send_one_event(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await see(sessionmaker, PLENTY) == []
    low = replace(PLENTY, token_units=5)
    fired = await asyncio.gather(*(see(sessionmaker, low) for _ in range(6)))
    assert sorted(k for kinds in fired for k in kinds) == ["USDT"]
    assert len(await events(sessionmaker)) == 1


@pytest.fixture
async def node(devnet: DevnetHandle) -> AsyncIterator[NodeClient]:
    async with NodeClient(
        [devnet.url], timeout=httpx.Timeout(3.0, connect=1.0), backoff_base_s=0.01
    ) as client:
        yield client


async def test_the_watch_reads_the_devnet_wallet(
    sessionmaker: async_sessionmaker[AsyncSession], node: NodeClient
) -> None:
    # The demo wallet holds far less than 10^12 TRX and far more than 1 USDT.
    watch = WalletWatch(
        sessionmaker,
        node,
        ADDRESS,
        USDT_HEX,
        (Threshold(AlertKind.TRX, 10**18), Threshold(AlertKind.USDT, 1_000_000)),
    )
    assert await watch.step() == [AlertKind.TRX]
    assert await watch.step() == []
    (data,) = await events(sessionmaker)
    assert data["asset_or_resource"] == "TRX"
    assert data["threshold"] == "1000000000000"
    balance = (await node.account(ADDRESS)).balance_sun
    assert data["value"] == format_amount(balance)
    assert gauge("TRX") == 1
    assert gauge("USDT") == 0
    assert (REGISTRY.get_sample_value("tronpay_wallet_balance", {"asset": "TRX"}) or 0) > 0

    # any replica's scrape reads the fired state from the database
    for kind in ("TRX", "USDT", "energy"):
        WALLET_LOW.labels(kind).set(0)
    await DatabaseGauges(sessionmaker, refresh_s=0).refresh()
    assert gauge("TRX") == 1
    assert gauge("energy") == 0
