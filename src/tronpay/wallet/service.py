"""``WalletService``: one read of the hot wallet from the node and the database.

What the node says (balances, Stake 2.0 stake and resources, pending unstakes, delegations,
prices) is put together with what the database says is in flight (live payout attempts and the
TRX and USDT they may still take, the engine's own reservation), and turned into the runway
of typical USDT payouts. Nothing here writes anything.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine.fees import TRC20_TX_BYTES, Reserved
from tronpay.engine.repository import reserved_by_live_attempts
from tronpay.tron import abi
from tronpay.tron.address import encode_base58
from tronpay.tron.hashing import sha256
from tronpay.tron.node import (
    AccountResource,
    AccountStake,
    Delegation,
    NodeClient,
    NodeRejected,
    ResourceStake,
)
from tronpay.wallet.runway import Runway, RunwayInput, runway

TRX_SUN = 1_000_000
RECOVERY_WINDOW_MS = 86_400_000  # used energy and bandwidth come back linearly over 24 h
# Mainnet USDT transfers without the dynamic energy penalty: the figures used when the node
# cannot estimate (a wallet without USDT cannot simulate a transfer).
TYPICAL_NEW_HOLDER_ENERGY = 130_285
TYPICAL_EXISTING_HOLDER_ENERGY = 64_285
_PROBE_TRIES = 3


class EnergySource(enum.StrEnum):
    ESTIMATE = "estimate"  # the node's estimate of such a transfer from this wallet, now
    TYPICAL = "typical"  # the built-in figure (the node could not estimate)


@dataclass(frozen=True)
class ResourceView:
    """Energy or bandwidth in resource units. ``limit`` is what stake gives (own plus delegated
    in; for bandwidth plus the free daily allowance), ``used`` what is still recovering,
    ``recovered_by_ms`` when it is all back (0: nothing used)."""

    available: int
    limit: int
    used: int
    recovered_by_ms: int
    from_own_stake: int
    delegated_in: int
    delegated_out: int  # what the stake delegated to others yields them
    free_limit: int = 0
    free_used: int = 0


@dataclass(frozen=True)
class PayoutRunway:
    runway: Runway
    source: EnergySource


@dataclass(frozen=True)
class WalletView:
    address: str
    block_number: int
    block_timestamp_ms: int
    trx_sun: int
    usdt_units: int
    in_flight: Reserved  # what live payout attempts may still take
    trx_spendable_sun: int  # balance minus in_flight TRX (never below 0)
    energy: ResourceView
    bandwidth: ResourceView
    stake: AccountStake
    withdrawable_sun: int
    unstake_slots_left: int
    delegations: tuple[Delegation, ...]
    energy_price_sun: int
    bandwidth_price_sun: int
    new_holder: PayoutRunway
    existing_holder: PayoutRunway


def _yield(stake_sun: int, total_limit: int, total_weight_trx: int) -> int:
    """Resource units a stake yields: java-tron's stake (TRX) / total weight x total limit."""
    if total_weight_trx <= 0:
        return 0
    return stake_sun // TRX_SUN * total_limit // total_weight_trx


def _recovered_by(used: int, last_used_ms: int) -> int:
    return last_used_ms + RECOVERY_WINDOW_MS if used > 0 and last_used_ms > 0 else 0


def energy_view(stake: ResourceStake, res: AccountResource) -> ResourceView:
    total, weight = res.total_energy_limit, res.total_energy_weight
    return ResourceView(
        available=res.energy_available,
        limit=res.energy_limit,
        used=res.energy_used,
        recovered_by_ms=_recovered_by(res.energy_used, stake.last_used_ms),
        from_own_stake=_yield(stake.staked_sun, total, weight),
        delegated_in=_yield(stake.delegated_in_sun, total, weight),
        delegated_out=_yield(stake.delegated_out_sun, total, weight),
    )


def bandwidth_view(stake: AccountStake, res: AccountResource) -> ResourceView:
    total, weight = res.total_net_limit, res.total_net_weight
    bw = stake.bandwidth
    last = max(bw.last_used_ms, stake.free_bandwidth_last_used_ms)
    used = res.net_used + res.free_net_used
    return ResourceView(
        available=res.bandwidth_available,
        limit=res.net_limit + res.free_net_limit,
        used=used,
        recovered_by_ms=_recovered_by(used, last),
        from_own_stake=_yield(bw.staked_sun, total, weight),
        delegated_in=_yield(bw.delegated_in_sun, total, weight),
        delegated_out=_yield(bw.delegated_out_sun, total, weight),
        free_limit=res.free_net_limit,
        free_used=res.free_net_used,
    )


class WalletService:
    """Reads the hot wallet ``hot_wallet`` through ``node``."""

    def __init__(self, node: NodeClient, *, hot_wallet: str, token_contract: str) -> None:
        self._node = node
        self.hot_wallet = hot_wallet
        self.token_contract = token_contract

    async def view(self, session: AsyncSession) -> WalletView:
        """The wallet now. Raises ``NodeUnavailable`` when no node answers."""
        in_flight = await reserved_by_live_attempts(session)
        node, hot = self._node, self.hot_wallet
        head, stake, res, params, usdt = await asyncio.gather(
            node.now_block(),
            node.account_stake(hot),
            node.account_resource(hot),
            node.chain_parameters(),
            node.token_balance(self.token_contract, hot),
        )
        slots, delegations, withdrawable, new_energy, old_energy = await asyncio.gather(
            node.available_unfreeze_count(hot),
            node.delegations_from(hot),
            node.can_withdraw_unfreeze_amount(hot, head.timestamp),
            self._new_holder_energy(usdt),
            self._existing_holder_energy(usdt),
        )
        energy_price, bw_price = params.energy_fee_sun, params.transaction_fee_sun
        energy, bandwidth = energy_view(stake.energy, res), bandwidth_view(stake, res)
        spendable = max(0, stake.balance_sun - in_flight.trx_sun)
        have = RunwayInput(
            # the engine's rule: a live attempt may still take its whole fee_limit in energy
            energy_available=max(
                0, energy.available - in_flight.fee_limit_sun // max(1, energy_price)
            ),
            bandwidth_available=max(0, bandwidth.available - in_flight.tx_count * TRC20_TX_BYTES),
            trx_spendable_sun=spendable,
            energy_price_sun=energy_price,
            bandwidth_price_sun=bw_price,
        )
        return WalletView(
            address=hot,
            block_number=head.number,
            block_timestamp_ms=head.timestamp,
            trx_sun=stake.balance_sun,
            usdt_units=usdt,
            in_flight=in_flight,
            trx_spendable_sun=spendable,
            energy=energy,
            bandwidth=bandwidth,
            stake=stake,
            withdrawable_sun=withdrawable,
            unstake_slots_left=slots,
            delegations=delegations,
            energy_price_sun=energy_price,
            bandwidth_price_sun=bw_price,
            new_holder=PayoutRunway(runway(new_energy[0], TRC20_TX_BYTES, have), new_energy[1]),
            existing_holder=PayoutRunway(
                runway(old_energy[0], TRC20_TX_BYTES, have), old_energy[1]
            ),
        )

    async def _estimate(self, to: str) -> int | None:
        try:
            return await self._node.estimate_energy(
                self.hot_wallet, self.token_contract, abi.transfer_call(to, 1)
            )
        except NodeRejected:
            return None

    async def _existing_holder_energy(self, usdt: int) -> tuple[int, EnergySource]:
        """A transfer to an address that already holds USDT: estimated as one unit sent to the
        wallet itself (both balances are non-zero storage, as with any existing holder)."""
        if usdt > 0:
            energy = await self._estimate(self.hot_wallet)
            if energy:
                return energy, EnergySource.ESTIMATE
        return TYPICAL_EXISTING_HOLDER_ENERGY, EnergySource.TYPICAL

    async def _new_holder_energy(self, usdt: int) -> tuple[int, EnergySource]:
        """A transfer to an address holding no USDT: estimated against a probe address derived
        from the wallet, once its zero balance is checked."""
        if usdt > 0:
            for n in range(_PROBE_TRIES):
                probe = encode_base58(
                    b"\x41" + sha256(f"tronpay wallet runway {self.hot_wallet} {n}".encode())[:20]
                )
                if await self._node.token_balance(self.token_contract, probe) != 0:
                    continue
                energy = await self._estimate(probe)
                if energy:
                    return energy, EnergySource.ESTIMATE
                break
        return TYPICAL_NEW_HOLDER_ENERGY, EnergySource.TYPICAL
