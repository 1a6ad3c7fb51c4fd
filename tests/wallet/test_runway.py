"""The runway arithmetic against a payout-by-payout simulation of java-tron's charging."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.wallet.runway import Runway, RunwayInput, runway


def simulate(energy: int, tx_bytes: int, have: RunwayInput) -> tuple[int, int]:
    """Pay one payout after another until one cannot be paid: (from stake, by burning)."""
    stake, bandwidth, trx = have.energy_available, have.bandwidth_available, have.trx_spendable_sun
    by_stake = by_burn = 0
    while True:
        bw_burn = 0 if bandwidth >= tx_bytes else tx_bytes * have.bandwidth_price_sun
        from_stake = min(stake, energy)
        burn = (energy - from_stake) * have.energy_price_sun
        if bw_burn + burn > trx:
            return by_stake, by_burn
        if bw_burn == 0:
            bandwidth -= tx_bytes
        trx -= bw_burn + burn
        stake -= from_stake
        if burn == 0:
            by_stake += 1
        else:
            by_burn += 1
        if by_stake + by_burn > 10_000:  # the strategies below stay far from this
            raise AssertionError("runaway simulation")


def test_typical_wallet() -> None:
    have = RunwayInput(
        energy_available=300_000,
        bandwidth_available=1_500,
        trx_spendable_sun=100_000_000,
        energy_price_sun=100,
        bandwidth_price_sun=1_000,
    )
    new = runway(130_285, 420, have)
    # 2 payouts from stake (bandwidth free for 3), then 39,430 staked energy is left over
    assert new == Runway(
        energy_per_payout=130_285,
        burn_per_payout_sun=13_028_500 + 420_000,
        from_staked_energy=2,
        by_burning_trx=7,
    )
    assert new.total == 9
    assert simulate(130_285, 420, have) == (2, 7)


def test_no_trx_and_no_stake() -> None:
    have = RunwayInput(0, 0, 0, 100, 1_000)
    assert runway(64_285, 420, have).total == 0
    assert runway(0, 0, have).energy_per_payout == 1


@settings(max_examples=300, deadline=None)
@given(
    energy=st.integers(1_000, 200_000),
    tx_bytes=st.integers(1, 600),
    stake=st.integers(0, 2_000_000),
    bandwidth=st.integers(0, 5_000),
    trx=st.integers(0, 20_000_000),
    energy_price=st.integers(10, 420),
    bandwidth_price=st.integers(0, 1_000),
)
def test_matches_payout_by_payout_simulation(
    *,
    energy: int,
    tx_bytes: int,
    stake: int,
    bandwidth: int,
    trx: int,
    energy_price: int,
    bandwidth_price: int,
) -> None:
    have = RunwayInput(stake, bandwidth, trx, energy_price, bandwidth_price)
    got = runway(energy, tx_bytes, have)
    assert (got.from_staked_energy, got.by_burning_trx) == simulate(energy, tx_bytes, have)
