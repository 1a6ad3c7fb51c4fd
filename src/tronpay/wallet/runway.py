"""The payout runway: how many USDT payouts of one kind the hot wallet can fund right now,
first from its staked energy, then by burning TRX. Pure integer arithmetic, no I/O.

A payout uses ``energy`` units and ``tx_bytes`` of bandwidth. java-tron takes energy from stake
first and burns TRX (``energy_price_sun`` per unit) only for the rest of a call, and takes
bandwidth from stake or the free daily allowance when a whole transaction fits, else burns
``bandwidth_price_sun`` per byte. The runway counts what the payouts would *consume*; the
engine additionally holds back a fee_limit margin for each payout in flight.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunwayInput:
    """What the wallet has now and what the chain charges."""

    energy_available: int  # staked energy (own + delegated in) not used
    bandwidth_available: int  # staked + free bandwidth not used
    trx_spendable_sun: int  # balance minus what in-flight payouts hold back
    energy_price_sun: int
    bandwidth_price_sun: int


@dataclass(frozen=True)
class Runway:
    """Payouts of one kind the wallet can fund: ``from_staked_energy`` need no TRX for energy,
    ``by_burning_trx`` come after them and burn TRX for their energy."""

    energy_per_payout: int
    burn_per_payout_sun: int  # TRX one payout burns with no stake left (energy + bandwidth)
    from_staked_energy: int
    by_burning_trx: int

    @property
    def total(self) -> int:
        return self.from_staked_energy + self.by_burning_trx


def runway(energy: int, tx_bytes: int, have: RunwayInput) -> Runway:
    """The runway for payouts of ``energy`` units and ``tx_bytes`` bytes each."""
    energy = max(1, energy)
    bw_cost = tx_bytes * have.bandwidth_price_sun
    trx = max(0, have.trx_spendable_sun)
    free_bw = max(0, have.bandwidth_available) // tx_bytes if tx_bytes > 0 else 0
    stake_energy = max(0, have.energy_available)

    # payouts whose energy the stake covers; beyond the free bandwidth each burns bw_cost
    by_stake = stake_energy // energy
    if by_stake > free_bw and bw_cost > 0:
        by_stake = min(by_stake, free_bw + trx // bw_cost)
    trx -= max(0, by_stake - free_bw) * bw_cost
    free_left = max(0, free_bw - by_stake)
    leftover = stake_energy - by_stake * energy  # a partial payout's worth of staked energy

    # burned payouts: n cost n*energy*price - leftover*price + max(0, n - free_left)*bw_cost
    unit = energy * have.energy_price_sun
    discount = leftover * have.energy_price_sun
    if by_stake < stake_energy // energy or unit <= 0:
        by_burn = 0  # bandwidth already ran out (or energy is free: no meaningful bound)
    else:
        by_burn = (trx + discount) // unit
        if by_burn > free_left:
            by_burn = (trx + discount + free_left * bw_cost) // (unit + bw_cost)
            by_burn = max(by_burn, free_left if free_left * unit <= trx + discount else 0)
    return Runway(
        energy_per_payout=energy,
        burn_per_payout_sun=unit + bw_cost,
        from_staked_energy=by_stake,
        by_burning_trx=by_burn,
    )
