"""The engine loop: one task that, every tick, submits new payouts, rebroadcasts live
attempts, follows new blocks, finalizes solidified ones, sweeps expired attempts and
periodically reconciles. Each step runs in its own transaction(s); a failing step (node down,
a row changed by another engine) is logged and retried on the next tick, never fatal. Every
step reports to ``EngineHealth``: a step that keeps failing (or hangs) for longer than
``stall_after_s`` is logged once as ``engine.stalled`` and makes ``/ready`` answer 503 while
payouts wait (``engine/health.py``).

``run_engine(settings, stop_event)`` builds everything from ``Settings`` and runs until the
event is set (``tronpay worker`` sets it on SIGTERM/SIGINT; ``tronpay serve`` runs it beside
the API).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import httpx
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from tronpay.config import Settings
from tronpay.db.session import create_engine, create_sessionmaker, is_sqlite
from tronpay.engine.broadcaster import Broadcaster, Outgoing
from tronpay.engine.config import EngineConfig
from tronpay.engine.context import EngineContext
from tronpay.engine.errors import EngineStartError
from tronpay.engine.follower import BlockFollower, finalize_step
from tronpay.engine.health import EngineHealth, Stall
from tronpay.engine.metrics import STEP_ERRORS
from tronpay.engine.planner import Planner
from tronpay.engine.reconcile import ReconcileReport, reconcile
from tronpay.engine.submitter import submit_once
from tronpay.engine.sweeper import Sweeper
from tronpay.policy.auto_stake import AutoStakeConfig
from tronpay.policy.config import load_policy
from tronpay.policy.service import PolicyService
from tronpay.signer.local import LocalSigner
from tronpay.startup import check_token_decimals, load_signer, node_client
from tronpay.tron.node import NodeError
from tronpay.wallet.auto_stake import AutoStaker
from tronpay.wallet.executor import OperationsRunner
from tronpay.wallet.low import WalletWatch, thresholds_from

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
SUBMIT_BUDGET_S = 10.0
UNEXPECTED_BACKOFF_MAX_S = 30.0


@dataclass
class EngineStats:
    ticks: int = 0
    submitted: int = 0
    step_errors: int = 0
    reconciled: int = 0
    mismatches: int = 0


class Engine:
    """The payout engine over one context. ``await engine.run(stop)``."""

    def __init__(
        self,
        ctx: EngineContext,
        *,
        health: EngineHealth | None = None,
        watch: WalletWatch | None = None,
    ) -> None:
        self.ctx = ctx
        self.health = health or EngineHealth()
        self.health.stall_after_s = ctx.config.stall_after_s
        self.broadcaster = Broadcaster(ctx)
        self.follower = BlockFollower(ctx)
        self.sweeper = Sweeper(ctx)
        self.operations = OperationsRunner(ctx)  # staking operations of the hot wallet
        auto_stake = ctx.policy.config.auto_stake if ctx.policy else AutoStakeConfig()
        self.auto_stake = AutoStaker(ctx, auto_stake)  # [auto_stake] of the policy file
        self.watch = watch  # wallet.low thresholds (None: none configured)
        self.stats = EngineStats()
        self._reconciled_until: datetime | None = None
        self._last_reconcile = 0.0
        self._last_sweep = 0.0
        self._last_watch: float | None = None
        self._backlog = False  # the last submit round stopped on its budget, not a short claim
        self._unexpected: dict[str, int] = {}  # consecutive unexpected errors per step
        self._stop: asyncio.Event | None = None

    async def _backoff(self, seconds: float) -> None:
        if self._stop is None:
            await asyncio.sleep(seconds)
        else:
            await _sleep_or_stop(self._stop, seconds)

    async def _guard(self, name: str, fn: Callable[[], Awaitable[_T]]) -> _T | None:
        for hung in self.health.newly_hung():  # a step of another loop that never returns
            self._log_stall(hung)
        self.health.started(name)
        try:
            result = await fn()
        except NodeError as exc:
            self._failed(name, exc)
            log.warning("engine.step.node_error", step=name, error=exc.detail)
        except (StaleDataError, SQLAlchemyError) as exc:
            self._failed(name, exc)
            log.warning("engine.step.db_error", step=name, error=type(exc).__name__)
        except Exception as exc:  # one unexpected error must not end the engine
            # Only the type: str(exc) may carry SQL parameters, URLs or other secrets.
            self._failed(name, exc)
            streak = self._unexpected.get(name, 0) + 1
            self._unexpected[name] = streak
            delay = min(UNEXPECTED_BACKOFF_MAX_S, self.ctx.config.tick_s * (2 ** min(streak, 10)))
            log.error(
                "engine.step.unexpected_error",
                step=name,
                error=type(exc).__name__,
                streak=streak,
                backoff_s=round(delay, 3),
            )
            await self._backoff(delay)
            return None
        else:
            self._unexpected.pop(name, None)
            if self.health.succeeded(name):
                log.info("engine.recovered", step=name)
            return result
        return None

    def _failed(self, name: str, exc: BaseException) -> None:
        self.stats.step_errors += 1
        STEP_ERRORS.labels(name).inc()
        stall = self.health.failed(name, type(exc).__name__)
        if stall is not None:
            self._log_stall(stall)

    @staticmethod
    def _log_stall(stall: Stall) -> None:
        # One line an operator can alert on, instead of a quiet retry loop.
        log.error(
            "engine.stalled",
            step=stall.step,
            error=stall.error,
            failures=stall.failures,
            seconds=round(stall.seconds, 1),
            detail=stall.describe(),
        )

    async def submit_all(self) -> int:
        """Claim and submit batches until the queue is drained or the time budget is used.

        Each committed batch is broadcast in the background while the next one is planned
        and signed; all broadcasts are awaited before returning.
        """
        started = time.monotonic()
        total = 0
        pending: list[asyncio.Task[object]] = []
        self._backlog = False
        try:
            while True:
                result = await submit_once(self.ctx)
                if result.submitted:
                    total += len(result.submitted)
                    self.stats.submitted += len(result.submitted)
                    outgoing = [
                        Outgoing(s.txid, s.tx_bytes, s.expiration_ms) for s in result.submitted
                    ]
                    self.broadcaster.mark_in_flight([o.txid for o in outgoing])
                    pending.append(asyncio.create_task(self.broadcaster.send_new(outgoing)))
                if result.claimed < self.ctx.config.batch_size:
                    break
                if time.monotonic() - started > SUBMIT_BUDGET_S:
                    self._backlog = True
                    break
        finally:
            for outcome in await asyncio.gather(*pending, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    # the attempts are committed: the rebroadcast step sends them again
                    log.warning("engine.broadcast.task_failed", error=type(outcome).__name__)
        return total

    async def reconcile_now(self) -> ReconcileReport:
        report = await reconcile(self.ctx, self._reconciled_until)
        self._reconciled_until = report.last_seen
        self.stats.reconciled += report.checked
        self.stats.mismatches += len(report.mismatches)
        return report

    async def submit_tick(self) -> None:
        await self._guard("submit", self.submit_all)

    async def chain_tick(self) -> None:
        """Receipts of new blocks, then finalization of solidified ones."""
        await self._guard("follow", self.follower.step)
        await self._guard("finalize", lambda: finalize_step(self.ctx))

    async def upkeep_tick(self) -> None:
        """Rebroadcast, the expiry sweeper, auto-stake (when enabled), staking operations, the
        wallet.low check and
        periodic reconciliation."""
        cfg = self.ctx.config
        await self._guard("rebroadcast", self.broadcaster.rebroadcast_due)
        now = time.monotonic()
        if now - self._last_sweep >= max(1.0, cfg.tick_s):
            self._last_sweep = now
            await self._guard("sweep", self.sweeper.step)
            if self.auto_stake.config.enabled:
                await self._guard("auto_stake", self.auto_stake.step)
            await self._guard("wallet_operations", self.operations.step)
        if self.watch is not None and (
            self._last_watch is None or now - self._last_watch >= self.watch.interval_s
        ):
            self._last_watch = now
            await self._guard("wallet_low", self.watch.step)
        if now - self._last_reconcile >= cfg.reconcile_interval_s:
            self._last_reconcile = now
            await self._guard("reconcile", self.reconcile_now)

    async def tick(self) -> None:
        """One pass of every step, in order (tests and single-step tools use this)."""
        await self.submit_tick()
        await self.upkeep_tick()
        await self.chain_tick()
        self.stats.ticks += 1

    async def _loop(self, stop: asyncio.Event, step: Callable[[], Awaitable[None]]) -> None:
        while not stop.is_set():
            await step()
            if step == self.submit_tick and self._backlog:
                await asyncio.sleep(0)  # more is queued: go on at once
                continue
            await _sleep_or_stop(stop, self.ctx.config.tick_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Resume, then run three loops side by side until ``stop`` is set: submit, chain
        (follow + finalize) and upkeep (rebroadcast, sweep, reconcile). Every step re-checks
        the rows it changes inside its own transaction, so the loops never race each other
        into a wrong state; running them apart keeps a large batch being planned from
        delaying the receipts of the previous one."""
        log.info("engine.start", hot_wallet=self.ctx.signer.address)
        self._stop = stop
        while not stop.is_set() and self.follower.cursor is None:
            await self._guard("resume", self.follower.start)
            if self.follower.cursor is None:
                await _sleep_or_stop(stop, 1.0)
        loops = [self.submit_tick, self.chain_tick, self.upkeep_tick]
        await asyncio.gather(*(self._loop(stop, step) for step in loops))
        log.info("engine.stop", submitted=self.stats.submitted)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


def engine_signer(settings: Settings) -> LocalSigner:
    """The hot wallet signer (``tronpay.startup.load_signer``); the engine cannot run without."""
    signer = load_signer(settings)
    if signer is None:
        raise EngineStartError(
            "set TRONPAY_HOT_WALLET_KEY_FILE (or TRONPAY_KEYSTORE_FILE and "
            "TRONPAY_KEYSTORE_PASSPHRASE_FILE) to run the engine"
        )
    return signer


async def run_engine(
    settings: Settings,
    stop_event: asyncio.Event,
    *,
    config: EngineConfig | None = None,
    health: EngineHealth | None = None,
) -> None:
    """Run the payout engine until ``stop_event`` is set (``health``: where it reports its
    progress, for ``/ready``)."""
    cfg = config or EngineConfig.from_env()
    token = settings.effective_token_contract
    if token is None:
        raise EngineStartError("no token contract configured")
    signer = engine_signer(settings)
    db = create_engine(settings.effective_database_url)
    policy_config = load_policy(settings.policy_file)
    policy = PolicyService(policy_config)
    try:
        async with node_client(
            settings,
            timeout=httpx.Timeout(cfg.node_timeout_s, connect=min(5.0, cfg.node_timeout_s)),
            max_connections=cfg.broadcast_concurrency + cfg.read_concurrency + 8,
        ) as node:
            while not stop_event.is_set():
                try:
                    await check_token_decimals(node, token, EngineStartError)
                    break
                except NodeError as exc:
                    log.warning("engine.start.node_unavailable", error=exc.detail)
                    await _sleep_or_stop(stop_event, 2.0)
            planner = Planner(
                node,
                hot_wallet=signer.address,
                token_contract=token,
                policy=cfg.fee_policy(policy_config.max_fees()),
            )
            ctx = EngineContext(
                sessionmaker=create_sessionmaker(db),
                node=node,
                planner=planner,
                signer=signer,
                token_contract=token,
                config=cfg,
                postgres=not is_sqlite(db),
                policy=policy,
            )
            thresholds = thresholds_from(settings)
            watch = (
                WalletWatch(
                    ctx.sessionmaker,
                    node,
                    signer.address,
                    token,
                    thresholds,
                    interval_s=settings.wallet_low_check_s,
                )
                if thresholds
                else None
            )
            await Engine(ctx, health=health, watch=watch).run(stop_event)
    finally:
        await db.dispose()
