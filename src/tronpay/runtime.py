"""What the API process knows of the chain: a node client, the hot wallet's address and the
readiness checks that depend on them (node reachable and in sync, token decimals, signer).

The API process never needs the private key: it derives the hot wallet address once (from
``TRONPAY_HOT_WALLET_ADDRESS`` or by loading the configured key) and drops the key. The
engine loads its own signer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Final

import httpx
import structlog
from fastapi import FastAPI

from tronpay.config import Settings
from tronpay.db.session import read_transaction
from tronpay.engine.health import EngineHealth
from tronpay.engine.worker import run_engine
from tronpay.errors import TronpayError
from tronpay.payouts.repository import engine_work_waiting
from tronpay.signer import LocalSigner
from tronpay.signer.errors import SignerError
from tronpay.tron.node import NodeClient

log = structlog.get_logger(__name__)

TOKEN_DECIMALS: Final = 6
# A node whose head block is older than this is not in sync (mainnet makes a block every 3 s).
MAX_HEAD_AGE_S: Final = 60
RESTART_MIN_S: Final = 1.0
RESTART_MAX_S: Final = 60.0


class NotReady(TronpayError):
    code = "not_ready"
    status = 503
    title = "A dependency is not usable"


class EngineStalled(NotReady):
    code = "engine_stalled"
    title = "The payout engine is not making progress"


def hot_wallet_address(settings: Settings) -> str | None:
    """The configured hot wallet address, derived from the key when not given explicitly."""
    if settings.hot_wallet_address:
        return settings.hot_wallet_address
    signer: LocalSigner | None = None
    if settings.hot_wallet_key_file is not None:
        signer = LocalSigner.from_key_file(settings.hot_wallet_key_file)
    elif settings.keystore_file is not None and settings.keystore_passphrase_file is not None:
        signer = LocalSigner.from_keystore(
            settings.keystore_file, settings.keystore_passphrase_file
        )
    return signer.address if signer is not None else None


def signer_configured(settings: Settings) -> bool:
    return settings.hot_wallet_key_file is not None or (
        settings.keystore_file is not None and settings.keystore_passphrase_file is not None
    )


@dataclass
class ChainRuntime:
    """The API process's view of the chain. ``aclose()`` at shutdown."""

    settings: Settings
    node: NodeClient
    token_contract: str
    hot_wallet: str | None
    _decimals_verified: bool = field(default=False, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChainRuntime:
        token = settings.effective_token_contract
        if token is None:  # Settings.check_startup refuses this earlier
            raise NotReady("no token contract configured")
        api_key = None
        if settings.node_api_key_file is not None:
            api_key = settings.node_api_key_file.read_text(encoding="utf-8").strip()
        node = NodeClient(
            list(settings.effective_node_urls),
            api_key=api_key,
            timeout=httpx.Timeout(5.0, connect=2.0),
            read_rounds=1,
        )
        return cls(settings, node, token, hot_wallet_address(settings))

    async def aclose(self) -> None:
        await self.node.aclose()

    async def check_node(self) -> None:
        """Some node answers and its head block is recent."""
        head = await self.node.now_block()
        age_s = time.time() - head.timestamp / 1000
        if age_s > MAX_HEAD_AGE_S:
            raise NotReady(f"node head block {head.number} is {int(age_s)} s old")

    async def check_token(self) -> None:
        """The token contract answers decimals() == 6 (verified once, then remembered)."""
        if self._decimals_verified:
            return
        decimals = await self.node.token_decimals(self.token_contract)
        if decimals != TOKEN_DECIMALS:
            raise NotReady(f"token has {decimals} decimals, expected {TOKEN_DECIMALS}")
        self._decimals_verified = True

    async def check_signer(self) -> None:
        """The hot wallet is known (its key loaded once at start)."""
        if self.hot_wallet is None:
            raise NotReady("no hot wallet configured")


def load_runtime(settings: Settings) -> ChainRuntime:
    """Build the runtime; a key that cannot be loaded is a configuration error."""
    try:
        return ChainRuntime.from_settings(settings)
    except SignerError as exc:
        raise NotReady(f"hot wallet key: {exc}") from exc


def install(app: FastAPI, settings: Settings, *, with_engine: bool) -> ChainRuntime:
    """Put the chain runtime on ``app.state.chain``; with the engine in this process, its
    dependencies (node in sync, token decimals, hot wallet, the engine task and its progress)
    join ``/ready``. An API-only replica does not need the node to accept payouts, so it
    stays ready without one."""
    chain = load_runtime(settings)
    app.state.chain = chain
    app.state.engine_task = None
    app.state.engine_health = EngineHealth()
    app.state.with_engine = with_engine
    if with_engine:
        readiness = app.state.readiness
        readiness.register("node", chain.check_node)
        readiness.register("token", chain.check_token)
        readiness.register("signer", chain.check_signer)

        async def engine_running() -> None:
            task: asyncio.Task[None] | None = app.state.engine_task
            if task is None or task.done():
                raise NotReady("the payout engine is not running")
            await check_progress(app)

        readiness.register("engine", engine_running)
    return chain


async def check_progress(app: FastAPI) -> None:
    """Not ready when an engine step is stalled (``engine/health.py``) while payouts wait
    for the engine: the engine runs but pays nobody."""
    health: EngineHealth = app.state.engine_health
    stall = health.stalled()
    if stall is None:
        return
    async with read_transaction(app.state.sessionmaker) as session:
        waiting = await engine_work_waiting(session)
    if waiting:
        raise EngineStalled(stall.describe())


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """The lifespan part of the chain runtime: runs the engine beside the API when wanted,
    stops it cleanly (no claim left half-done) and closes the node client."""
    chain: ChainRuntime = app.state.chain
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    if app.state.with_engine:
        task = asyncio.create_task(
            _engine(chain.settings, stop, app.state.engine_health), name="payout-engine"
        )
        app.state.engine_task = task
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
