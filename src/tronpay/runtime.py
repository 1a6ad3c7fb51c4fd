"""The chain side of the API process, wired at start-up: the chain runtime (node client, hot
wallet address, token), the fee quoter over the engine's planner, the readiness checks that
depend on them, and the payout engine when it runs in this process.

This module is a composition root: it may import both the payouts domain and the engine, so
the payouts domain gets its ``Quoter`` without importing the engine. The shared start-up
pieces (key loading, node client, token decimals check) are in ``tronpay.startup``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Final

import structlog

from tronpay.api.readiness import NotReady
from tronpay.config import Settings
from tronpay.db.session import read_transaction
from tronpay.engine.config import EngineConfig
from tronpay.engine.errors import EngineStalled
from tronpay.engine.health import EngineHealth
from tronpay.engine.planner import Planner
from tronpay.engine.quoting import PlannerQuoter
from tronpay.engine.worker import run_engine
from tronpay.errors import TronpayError
from tronpay.payouts.quote import Quoter
from tronpay.payouts.recipients import ContractDirectory
from tronpay.payouts.repository import engine_work_waiting
from tronpay.startup import ChainRuntime
from tronpay.state import AppState

log = structlog.get_logger(__name__)

RESTART_MIN_S: Final = 1.0
RESTART_MAX_S: Final = 60.0


def load_chain(settings: Settings) -> ChainRuntime:
    """The chain runtime; a key that cannot be loaded is a configuration error (``NotReady``)."""
    return ChainRuntime.from_settings(settings)


def build_quoter(chain: ChainRuntime) -> Quoter | None:
    """The fee quoter, built once: the engine's planner over the API's node client, with the
    engine's fee policy (``TRONPAY_ENGINE_*``). ``None`` without a hot wallet address."""
    if chain.hot_wallet is None:
        return None
    planner = Planner(
        chain.node,
        hot_wallet=chain.hot_wallet,
        token_contract=chain.token_contract,
        policy=EngineConfig.from_env().fee_policy(),
    )
    return PlannerQuoter(planner)


def build_contracts(chain: ChainRuntime) -> ContractDirectory:
    """The directory of smart contracts the payouts domain asks before accepting TRX to an
    address (``payouts/recipients.py``), over the API's node client; remembers answers."""
    return ContractDirectory(chain.node)


def register_checks(state: AppState) -> None:
    """With the engine in this process, its dependencies (node in sync, token decimals, hot
    wallet, the engine task and its progress) join ``/ready``. An API-only replica does not
    need the node to accept payouts, so it stays ready without one."""
    if not state.with_engine:
        return
    chain = state.chain
    readiness = state.readiness
    # Cached: /ready needs no token, and each node request spends the API key's quota.
    cache_s = state.settings.ready_node_cache_s
    readiness.register("node", chain.check_node, cache_s=cache_s)
    readiness.register("token", chain.check_token, cache_s=cache_s)
    readiness.register("signer", chain.check_signer)

    async def engine_running() -> dict[str, bool]:
        task = state.engine_task
        if task is None or task.done():
            raise NotReady("the payout engine is not running")
        await check_progress(state)
        return {"running": True}

    readiness.register("engine", engine_running)


async def check_progress(state: AppState) -> None:
    """Not ready when an engine step is stalled (``engine/health.py``) while payouts wait
    for the engine: the engine runs but pays nobody."""
    stall = state.engine_health.stalled()
    if stall is None:
        return
    async with read_transaction(state.sessionmaker) as session:
        waiting = await engine_work_waiting(session)
    if waiting:
        raise EngineStalled(stall.describe())


@asynccontextmanager
async def running(state: AppState) -> AsyncIterator[None]:
    """The lifespan part of the chain runtime: runs the engine beside the API when wanted,
    stops it cleanly (no claim left half-done) and closes the node client."""
    chain = state.chain
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    if state.with_engine:
        task = asyncio.create_task(
            _engine(chain.settings, stop, state.engine_health), name="payout-engine"
        )
        state.engine_task = task
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            with suppress(asyncio.CancelledError):
                await task
        await chain.aclose()


async def _engine(settings: Settings, stop: asyncio.Event, health: EngineHealth) -> None:
    """Run the engine until ``stop``; restart it (with backoff) if it dies of an unexpected
    error, so one bad step never leaves payouts unattended while the API takes new ones. A
    configuration error (no key, wrong token) is final: ``/ready`` reports it."""
    delay = RESTART_MIN_S
    while not stop.is_set():
        try:
            await run_engine(settings, stop, health=health)
            return
        except TronpayError as exc:
            log.error("engine.stopped_on_error", code=exc.code, detail=exc.detail)
            return
        except Exception as exc:
            log.error("engine.crashed", error=type(exc).__name__, restart_in_s=delay)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, RESTART_MAX_S)
