"""Auto-stake: the engine tops the hot wallet's own energy stake up to ``[auto_stake]
min_energy`` with idle TRX, one FreezeBalanceV2 ENERGY operation at a time. Off by default.

At most once per ``interval_s`` window the upkeep loop reads the wallet (balance, own energy
stake) and the chain's energy-per-TRX ratio (``getaccountresource``: TotalEnergyLimit /
TotalEnergyWeight) and, when the own stake yields less than the target, queues ONE stake
operation through the ordinary operations machinery (``wallet.operations.queue``; the
executor signs, persists before broadcast and follows it). The amount is the smallest whole
TRX that reaches the target counting the weight it adds itself (ENERGY stakes an operator
queued and not yet in a block count as staked already), capped by the idle TRX:

    idle = balance - reserve - held
    held = live payout attempts (amounts + fee_limits) + live and queued stake operations
           + queued payouts (TRX amounts + the fee each may burn with no stake at all)

Exactly once: the decision and the insert run in one write transaction (SQLite's single
writer; on PostgreSQL under the engines' planning lock), nothing is queued while a previous
auto-stake operation is unfinished (not ``finalized``, ``failed`` or ``expired``), and the
idempotency key is the window (``auto-stake:<interval_s>:<window>``), unique per actor, so two
engines or a restarted one never stake twice in one window. It never unstakes. Every
operation is audited with the actor ``system:auto-stake``.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.context import EngineContext
from tronpay.engine.fees import TRC20_TX_BYTES, TRX_TX_BYTES
from tronpay.engine.repository import reserved_by_live_attempts
from tronpay.kit.clock import Clock, epoch_seconds, utcnow
from tronpay.payouts.models import Payout
from tronpay.policy.auto_stake import AutoStakeConfig
from tronpay.tron.node import ChainParameters, Resource
from tronpay.wallet.models import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    OperationKind,
    OperationStatus,
    WalletOperation,
)
from tronpay.wallet.operations import Actor, OperationRequest, queue
from tronpay.wallet.service import TYPICAL_NEW_HOLDER_ENERGY

log = structlog.get_logger(__name__)

AUTO_STAKE_ACTOR = "system:auto-stake"
TRX_SUN = 1_000_000
_UNFINISHED = tuple(s.value for s in OperationStatus if s not in FINAL_STATUSES)
_QUEUED_PAYOUT = "queued"


@dataclass(frozen=True)
class StakeTarget:
    """Whole TRX to stake for the target (0: reached; ``None``: the chain's whole energy limit
    is below the target, no stake can reach it)."""

    own_energy: int
    trx_needed: int | None


def stake_needed(
    *, own_stake_sun: int, target_energy: int, total_limit: int, total_weight_trx: int
) -> StakeTarget:
    """The smallest whole TRX ``x`` with ``(s + x) * L // (W + x) >= T``: java-tron's energy
    of a stake (its TRX over the total weight, times the total limit), counting the weight the
    new stake adds itself."""
    s = own_stake_sun // TRX_SUN
    weight = max(0, total_weight_trx)
    own = s * total_limit // weight if weight > 0 else 0
    if own >= target_energy:
        return StakeTarget(own, 0)
    if total_limit <= target_energy:
        return StakeTarget(own, None)
    # x * (L - T) >= T * W - s * L
    deficit = target_energy * weight - s * total_limit
    x = max(1, -(-deficit // (total_limit - target_energy)))
    while (s + x) * total_limit // (weight + x) < target_energy:  # integer floors
        x += 1
    return StakeTarget(own, x)


def queued_payout_hold(
    trx_amount_sun: int, trx_count: int, usdt_count: int, params: ChainParameters
) -> int:
    """What queued payouts may take, with no staked resources at all: TRX amounts, each
    transfer's bandwidth burn, the activation fee of a new TRX recipient and a USDT transfer
    to a new holder burning its whole energy."""
    activation = (
        params.create_new_account_fee_in_system_contract_sun + params.create_account_fee_sun
    )
    trx_fee = TRX_TX_BYTES * params.transaction_fee_sun + activation
    usdt_fee = (
        TYPICAL_NEW_HOLDER_ENERGY * params.energy_fee_sun
        + TRC20_TX_BYTES * params.transaction_fee_sun
    )
    return trx_amount_sun + trx_count * trx_fee + usdt_count * usdt_fee


@dataclass(frozen=True)
class Decision:
    """One auto-stake decision (all amounts in sun)."""

    amount_sun: int
    reason: str  # "stake", "target_reached", "unreachable", "no_idle_trx"
    own_energy: int
    idle_sun: int
    held_sun: int


def decide(
    config: AutoStakeConfig,
    *,
    balance_sun: int,
    held_sun: int,
    target: StakeTarget,
) -> Decision:
    idle = max(0, balance_sun - config.reserve_sun - held_sun)
    if target.trx_needed is None:
        return Decision(0, "unreachable", target.own_energy, idle, held_sun)
    if target.trx_needed == 0:
        return Decision(0, "target_reached", target.own_energy, idle, held_sun)
    amount = min(target.trx_needed, idle // TRX_SUN) * TRX_SUN
    if amount < TRX_SUN:
        return Decision(0, "no_idle_trx", target.own_energy, idle, held_sun)
    return Decision(amount, "stake", target.own_energy, idle, held_sun)


class AutoStaker:
    """One engine's auto-stake step: ``await staker.step()`` each upkeep tick; it decides at
    most once per window and returns the id of the operation it queued, if any."""

    def __init__(
        self,
        ctx: EngineContext,
        config: AutoStakeConfig,
        *,
        clock: Clock = epoch_seconds,
    ) -> None:
        self.ctx = ctx
        self.config = config
        self._clock = clock
        self._done_window: int | None = None
        self._last_reason: str | None = None
        if config.enabled:
            log.info("wallet.auto_stake.enabled", **config.describe())

    def window(self) -> int:
        return int(self._clock() // self.config.interval_s)

    async def step(self) -> str | None:
        if not self.config.enabled:
            return None
        window = self.window()
        if window == self._done_window:
            return None
        async with self.ctx.read() as session:
            if await _unfinished(session):
                return None  # the previous auto-stake is still on its way
        hot = self.ctx.signer.address
        params = await self.ctx.node.chain_parameters()
        try:
            async with self.ctx.write() as session:
                if not await self.ctx.try_plan_lock(session):
                    return None  # another engine is planning: try again next tick
                if await _unfinished(session):
                    self._done_window = window
                    return None
                held = await held_sun(session, params)
                # energy stakes an operator queued count as if they were on chain already
                pending = await pending_energy_stake_sun(session)
                # the wallet is read after what holds TRX back: a payout included meanwhile
                # is then counted twice (less is staked), never missed
                stake = await self.ctx.node.account_stake(hot)
                resource = await self.ctx.node.account_resource(hot)
                target = stake_needed(
                    own_stake_sun=stake.energy.staked_sun + pending,
                    target_energy=self.config.min_energy,
                    total_limit=resource.total_energy_limit,
                    total_weight_trx=resource.total_energy_weight + pending // TRX_SUN,
                )
                decision = decide(
                    self.config, balance_sun=stake.balance_sun, held_sun=held, target=target
                )
                self._done_window = window
                if decision.amount_sun == 0:
                    self._note(decision)
                    return None
                op = await queue(
                    session,
                    OperationRequest(
                        kind=OperationKind.STAKE,
                        resource=Resource.ENERGY.value,
                        amount_sun=decision.amount_sun,
                    ),
                    actor=Actor(AUTO_STAKE_ACTOR, None),
                    idempotency_key=f"auto-stake:{self.config.interval_s}:{window}",
                    hot_wallet=hot,
                    now=utcnow(),
                )
        except IntegrityError:
            # another engine queued this window's operation first
            self._done_window = window
            return None
        self._last_reason = decision.reason
        log.info(
            "wallet.auto_stake.queued",
            operation_id=op.id,
            amount_sun=decision.amount_sun,
            own_energy=decision.own_energy,
            target_energy=self.config.min_energy,
            idle_sun=decision.idle_sun,
            held_sun=decision.held_sun,
        )
        return op.id

    def _note(self, decision: Decision) -> None:
        if decision.reason != self._last_reason:  # one line per change, not one per window
            log.info(
                "wallet.auto_stake.skipped",
                reason=decision.reason,
                own_energy=decision.own_energy,
                target_energy=self.config.min_energy,
                idle_sun=decision.idle_sun,
                held_sun=decision.held_sun,
            )
        self._last_reason = decision.reason


async def _unfinished(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(WalletOperation.id)
        .where(
            WalletOperation.created_by == AUTO_STAKE_ACTOR,
            WalletOperation.status.in_(_UNFINISHED),
        )
        .limit(1)
    )
    return found is not None


async def pending_energy_stake_sun(session: AsyncSession) -> int:
    """ENERGY stake operations queued or on their way (not yet in a block)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(WalletOperation.amount), 0)).where(
            WalletOperation.kind == OperationKind.STAKE.value,
            WalletOperation.resource == Resource.ENERGY.value,
            WalletOperation.status.in_((OperationStatus.QUEUED.value, *LIVE_STATUSES)),
        )
    )
    return int(total or 0)


async def held_sun(session: AsyncSession, params: ChainParameters) -> int:
    """TRX (sun) auto-stake leaves alone: what live payout attempts may take, live and queued
    stake operations, and what queued payouts may take (``queued_payout_hold``)."""
    reserved = await reserved_by_live_attempts(session)
    staking = await session.scalar(
        select(func.coalesce(func.sum(WalletOperation.amount), 0)).where(
            WalletOperation.kind == OperationKind.STAKE.value,
            WalletOperation.status.in_((OperationStatus.QUEUED.value, *LIVE_STATUSES)),
        )
    )
    rows = await session.execute(
        select(Payout.asset, func.count(), func.coalesce(func.sum(Payout.amount), 0))
        .where(Payout.status == _QUEUED_PAYOUT)
        .group_by(Payout.asset)
    )
    trx_amount = trx_count = usdt_count = 0
    for asset, count, amount in rows.all():
        if asset == "TRX":
            trx_amount, trx_count = int(amount), int(count)
        else:
            usdt_count += int(count)
    queued = queued_payout_hold(trx_amount, trx_count, usdt_count, params)
    return reserved.trx_sun + int(staking or 0) + queued
