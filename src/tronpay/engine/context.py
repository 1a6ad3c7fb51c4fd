"""What every engine step shares: database, node, planner, signer, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine.config import EngineConfig
from tronpay.engine.planner import Planner
from tronpay.policy.service import PolicyService
from tronpay.signer import Signer
from tronpay.tron.node import NodeClient

# pg_advisory_xact_lock key serializing the plan+sign+persist step across engines, so two
# engines never promise the same TRX/USDT twice (broadcast and following stay parallel).
PLAN_LOCK_KEY = 0x7470_6C61_6E00  # "tplan"


@dataclass(frozen=True)
class EngineContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    node: NodeClient
    planner: Planner
    signer: Signer
    token_contract: str
    config: EngineConfig
    postgres: bool
    policy: PolicyService | None = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with write_transaction(self.sessionmaker) as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with read_transaction(self.sessionmaker) as session:
            yield session

    async def try_plan_lock(self, session: AsyncSession) -> bool:
        """On PostgreSQL, take the planning lock until this transaction ends, without waiting
        (another engine planning right now means: skip this round, follow and broadcast)."""
        if not self.postgres:
            return True
        got = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PLAN_LOCK_KEY}
        )
        return bool(got)
