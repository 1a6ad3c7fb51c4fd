"""The JSON of ``GET /v1/wallet``. Money is a decimal string (TRX and USDT, 6 decimals);
energy and bandwidth are integer resource units; prices are integer sun per unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from tronpay.kit.money import format_amount
from tronpay.tron.address import from_hex, normalize
from tronpay.tron.node import Delegation, PendingUnstake
from tronpay.wallet.service import PayoutRunway, ResourceView, WalletView

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at(ms: int) -> datetime | None:
    """A chain timestamp (ms) as a UTC datetime; None for 0."""
    return _EPOCH + timedelta(milliseconds=ms) if ms > 0 else None


class ResourceOut(BaseModel):
    available: int = Field(description="units usable now")
    limit: int = Field(description="units a day from stake (own + delegated in)")
    used: int = Field(description="units used and still recovering (linearly over 24 h)")
    recovered_by: datetime | None = Field(description="when every used unit is back")
    from_own_stake: int = Field(description="units of the limit the wallet's own stake gives")
    delegated_in: int = Field(description="units of the limit other accounts' stake gives")
    delegated_out: int = Field(description="units the wallet's stake gives other accounts")

    @classmethod
    def of(cls, view: ResourceView) -> ResourceOut:
        return cls(
            available=view.available,
            limit=view.limit,
            used=view.used,
            recovered_by=at(view.recovered_by_ms),
            from_own_stake=view.from_own_stake,
            delegated_in=view.delegated_in,
            delegated_out=view.delegated_out,
        )


class BandwidthOut(ResourceOut):
    free_limit: int = Field(description="the free daily bandwidth (part of limit)")
    free_used: int

    @classmethod
    def of(cls, view: ResourceView) -> BandwidthOut:
        base = ResourceOut.of(view).model_dump()
        return cls(**base, free_limit=view.free_limit, free_used=view.free_used)


class StakeOut(BaseModel):
    """TRX staked with Stake 2.0, per resource."""

    energy: str = Field(description="TRX staked for energy the wallet uses itself")
    bandwidth: str
    energy_delegated_out: str = Field(description="TRX staked for energy delegated to others")
    bandwidth_delegated_out: str
    energy_delegated_in: str = Field(description="TRX other accounts staked for this wallet")
    bandwidth_delegated_in: str


class UnstakeOut(BaseModel):
    resource: str
    amount: str
    unlocks_at: datetime | None
    withdrawable: bool

    @classmethod
    def of(cls, unstake: PendingUnstake, now_ms: int) -> UnstakeOut:
        return cls(
            resource=unstake.resource.value,
            amount=format_amount(unstake.amount_sun),
            unlocks_at=at(unstake.unlock_ms),
            withdrawable=unstake.unlock_ms <= now_ms,
        )


class UnstakingOut(BaseModel):
    pending: list[UnstakeOut]
    withdrawable: str = Field(description="TRX whose 14-day wait is over")
    unstakes_left: int = Field(description="more unstakes the chain allows now (32 pending)")


class DelegationOut(BaseModel):
    to: str
    resource: str
    amount: str
    locked_until: datetime | None


class PricesOut(BaseModel):
    energy_sun: int = Field(description="sun burned per energy unit (chain parameter)")
    bandwidth_sun: int = Field(description="sun burned per bandwidth byte (chain parameter)")


class InFlightOut(BaseModel):
    """What signed, not yet confirmed payout transactions may still take."""

    attempts: int
    trx_held: str = Field(description="their TRX amounts plus fee_limits")
    usdt_held: str


class RunwayOut(BaseModel):
    energy_per_payout: int
    energy_source: str = Field(description="estimate (the node, now) or typical (built-in)")
    trx_burned_per_payout: str = Field(description="with no staked energy or bandwidth left")
    from_staked_energy: int = Field(description="payouts staked energy pays for")
    by_burning_trx: int = Field(description="further payouts the spendable TRX pays for")
    total: int

    @classmethod
    def of(cls, item: PayoutRunway) -> RunwayOut:
        r = item.runway
        return cls(
            energy_per_payout=r.energy_per_payout,
            energy_source=item.source.value,
            trx_burned_per_payout=format_amount(r.burn_per_payout_sun),
            from_staked_energy=r.from_staked_energy,
            by_burning_trx=r.by_burning_trx,
            total=r.total,
        )


class RunwaysOut(BaseModel):
    new_holder: RunwayOut = Field(description="USDT payouts to addresses holding no USDT yet")
    existing_holder: RunwayOut


class WalletOut(BaseModel):
    address: str
    block: int = Field(description="the head block the figures are read at")
    block_time: datetime | None
    trx: str = Field(description="TRX balance (staked TRX not included)")
    usdt: str
    trx_spendable: str = Field(description="TRX balance minus what in-flight payouts hold back")
    energy: ResourceOut
    bandwidth: BandwidthOut
    staked: StakeOut
    unstaking: UnstakingOut
    delegations: list[DelegationOut]
    prices: PricesOut
    in_flight: InFlightOut
    runway: RunwaysOut

    @classmethod
    def of(cls, view: WalletView) -> WalletOut:
        s = view.stake
        return cls(
            address=normalize(view.address),
            block=view.block_number,
            block_time=at(view.block_timestamp_ms),
            trx=format_amount(view.trx_sun),
            usdt=format_amount(view.usdt_units),
            trx_spendable=format_amount(view.trx_spendable_sun),
            energy=ResourceOut.of(view.energy),
            bandwidth=BandwidthOut.of(view.bandwidth),
            staked=StakeOut(
                energy=format_amount(s.energy.staked_sun),
                bandwidth=format_amount(s.bandwidth.staked_sun),
                energy_delegated_out=format_amount(s.energy.delegated_out_sun),
                bandwidth_delegated_out=format_amount(s.bandwidth.delegated_out_sun),
                energy_delegated_in=format_amount(s.energy.delegated_in_sun),
                bandwidth_delegated_in=format_amount(s.bandwidth.delegated_in_sun),
            ),
            unstaking=UnstakingOut(
                pending=[UnstakeOut.of(u, view.block_timestamp_ms) for u in s.unstakes],
                withdrawable=format_amount(view.withdrawable_sun),
                unstakes_left=view.unstake_slots_left,
            ),
            delegations=[out for d in view.delegations for out in _delegations(d)],
            prices=PricesOut(
                energy_sun=view.energy_price_sun, bandwidth_sun=view.bandwidth_price_sun
            ),
            in_flight=InFlightOut(
                attempts=view.in_flight.tx_count,
                trx_held=format_amount(view.in_flight.trx_sun),
                usdt_held=format_amount(view.in_flight.token_units),
            ),
            runway=RunwaysOut(
                new_holder=RunwayOut.of(view.new_holder),
                existing_holder=RunwayOut.of(view.existing_holder),
            ),
        )


def _delegations(d: Delegation) -> list[DelegationOut]:
    out = []
    if d.energy_sun:
        out.append(
            DelegationOut(
                to=from_hex(d.to_address),
                resource="ENERGY",
                amount=format_amount(d.energy_sun),
                locked_until=at(d.energy_locked_until_ms),
            )
        )
    if d.bandwidth_sun:
        out.append(
            DelegationOut(
                to=from_hex(d.to_address),
                resource="BANDWIDTH",
                amount=format_amount(d.bandwidth_sun),
                locked_until=at(d.bandwidth_locked_until_ms),
            )
        )
    return out
