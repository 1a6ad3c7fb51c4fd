"""Engine test harness: a live devnet over real HTTP, a real database (SQLite and
PostgreSQL through the shared ``sessionmaker`` fixture) and the engine running as a task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.support import DEMO_KEY, USDT_HEX
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine.config import EngineConfig
from tronpay.engine.context import EngineContext
from tronpay.engine.planner import Planner
from tronpay.engine.worker import Engine
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.policy.service import PolicyService
from tronpay.signer.local import LocalSigner
from tronpay.tron.node import NodeClient

FAST_CONFIG = EngineConfig(
    batch_size=50,
    tick_s=0.1,
    tx_expiration_s=5,
    expiry_margin_s=1,
    rebroadcast_interval_s=0.5,
    blocked_retry_s=0.3,
    reconcile_interval_s=1.0,
    node_timeout_s=2.0,
)


@pytest.fixture
def live_devnet() -> Iterator[DevnetHandle]:
    """Blocks every 0.3 s; solid = head - 2."""
    with run_devnet(block_time_s=0.3, solidify_depth=2, block_interval_ms=300) as handle:
        yield handle


@dataclass
class Harness:
    sessionmaker: async_sessionmaker[AsyncSession]
    devnet_url: str
    ctx: EngineContext
    engine: Engine
    stop: asyncio.Event
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.stop = asyncio.Event()
        self.engine = Engine(self.ctx)
        self.task = asyncio.create_task(self.engine.run(self.stop))

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)
            self.task = None

    async def add(
        self, items: Sequence[tuple[str, str, int]], memo: str | None = None
    ) -> list[str]:
        return await add_payouts(self.sessionmaker, items, memo=memo)

    async def payouts(self) -> dict[str, Payout]:
        async with read_transaction(self.sessionmaker) as s:
            out = {p.id: p for p in (await s.scalars(select(Payout))).all()}
            s.expunge_all()  # keep the loaded values after the read transaction ends
            return out

    async def attempts(self, payout_id: str) -> list[PayoutAttempt]:
        async with read_transaction(self.sessionmaker) as s:
            rows = await s.scalars(
                select(PayoutAttempt)
                .where(PayoutAttempt.payout_id == payout_id)
                .order_by(PayoutAttempt.created_at, PayoutAttempt.id)
            )
            out = list(rows.all())
            s.expunge_all()
            return out

    async def wait_statuses(
        self, ids: Sequence[str], wanted: set[str], timeout: float = 40.0
    ) -> dict[str, Payout]:
        async def done() -> bool:
            ps = await self.payouts()
            return all(ps[i].status in wanted for i in ids)

        await wait_for(done, timeout, what=f"payouts {wanted}")
        return await self.payouts()


async def wait_for(
    pred: Callable[[], Awaitable[bool]], timeout: float, *, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def add_payouts(
    sessionmaker: async_sessionmaker[AsyncSession],
    items: Sequence[tuple[str, str, int]],
    *,
    memo: str | None = None,
) -> list[str]:
    now = utcnow()
    ids = []
    async with write_transaction(sessionmaker) as s:
        for asset, to, amount in items:
            pid = new_id("po")
            ids.append(pid)
            s.add(
                Payout(
                    id=pid,
                    client="test",
                    to_address=to,
                    asset=asset,
                    amount=amount,
                    memo=memo,
                    status="queued",
                    created_by="tester",
                    created_at=now,
                    updated_at=now,
                    attempt_count=0,
                )
            )
    return ids


def transfers_to(ledger: dict[str, Any], to_hex: str) -> list[dict[str, Any]]:
    return [t for t in ledger["transactions"] if t.get("to") == to_hex]


@pytest.fixture
async def harness(
    sessionmaker: async_sessionmaker[AsyncSession], live_devnet: DevnetHandle
) -> AsyncIterator[Harness]:
    async with make_harness(sessionmaker, live_devnet.url) as h:
        yield h


class make_harness:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str | list[str],
        config: EngineConfig = FAST_CONFIG,
        policy: PolicyService | None = None,
    ) -> None:
        urls = [url] if isinstance(url, str) else url
        self._node = NodeClient(
            urls, timeout=httpx.Timeout(2.0, connect=1.0), backoff_base_s=0.05, cooldown_s=0.5
        )
        signer = LocalSigner(DEMO_KEY)
        planner = Planner(
            self._node,
            hot_wallet=signer.address,
            token_contract=USDT_HEX,
            policy=config.fee_policy(),
        )
        engine_ = sessionmaker.kw["bind"]
        ctx = EngineContext(
            sessionmaker=sessionmaker,
            node=self._node,
            planner=planner,
            signer=signer,
            token_contract=USDT_HEX,
            config=config,
            postgres=engine_.dialect.name == "postgresql",
            policy=policy,
        )
        self.h = Harness(sessionmaker, urls[0], ctx, Engine(ctx), asyncio.Event())

    async def __aenter__(self) -> Harness:
        self.h.start()
        return self.h

    async def __aexit__(self, *exc: object) -> None:
        await self.h.halt()
        await self._node.aclose()
