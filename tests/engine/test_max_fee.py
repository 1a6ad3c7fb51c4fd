"""Staked energy first, TRX burned only for the rest, and the policy's ``max_fee_per_payout``
(``tronpay.engine.fees``, pure). The same on the devnet chain: test_staked_energy.py."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.engine.fees import (
    TRC20_TX_BYTES,
    TRX,
    USDT,
    BlockReason,
    Decision,
    FeePolicy,
    PayoutRequest,
    Recipient,
    Reserved,
    WalletReads,
    WalletState,
    decide,
    decide_all,
    price,
    wallet_state,
)
from tronpay.tron.address import encode_base58

HOT = encode_base58(b"\x41" + bytes(range(20)))
DEST = encode_base58(b"\x41" + bytes(range(1, 21)))
EXISTING = Recipient(exists=True, blacklisted=False, new_holder=False, energy=65_000)
PRICE = 100  # sun per energy


def wallet(energy: int, *, bandwidth: int = 100_000, memo_fee: int = 0) -> WalletState:
    return WalletState(
        HOT,
        trx_sun=10**12,
        token_units=10**12,
        energy=energy,
        bandwidth=bandwidth,
        energy_price_sun=PRICE,
        bandwidth_price_sun=1_000,
        activation_fee_sun=1_100_000,
        blacklisted=False,
        memo_fee_sun=memo_fee,
    )


def usdt(n: int) -> list[PayoutRequest]:
    return [PayoutRequest(f"p{i}", USDT, DEST, 1_000_000) for i in range(n)]


def test_a_batch_spends_stake_first_and_burns_only_the_rest() -> None:
    # stake for two and a half transfers; no max fee: the rest is burned
    plan = decide_all(usdt(4), [EXISTING] * 4, wallet(162_500), FeePolicy(), hot_wallet=HOT)
    quotes = [item.quote for item in plan.items]
    assert [i.decision for i in plan.items] == [Decision.SEND] * 4
    assert [q.energy_from_stake for q in quotes if q] == [65_000, 65_000, 32_500, 0]
    assert [q.energy_burned for q in quotes if q] == [0, 0, 32_500, 65_000]
    assert [q.expected_fee_sun for q in quotes if q] == [0, 0, 3_250_000, 6_500_000]
    assert plan.wallet_after.energy == 0
    # fee_limit still covers the whole transfer (java-tron caps the TOTAL energy by it)
    assert all(q.fee_limit_sun >= 65_000 * PRICE for q in quotes if q)
    # the bandwidth is spent across the batch too
    assert plan.wallet_after.bandwidth == 100_000 - 4 * TRC20_TX_BYTES


def test_with_max_fee_the_payouts_after_the_stake_wait_for_energy() -> None:
    policy = FeePolicy(max_fee_sun={USDT: 3_250_000})  # 3.25 TRX
    plan = decide_all(usdt(4), [EXISTING] * 4, wallet(162_500), policy, hot_wallet=HOT)
    assert [i.decision for i in plan.items] == [Decision.SEND] * 3 + [Decision.BLOCK]
    assert plan.items[3].reason == BlockReason.INSUFFICIENT_ENERGY
    # a blocked payout takes nothing: the wallet after is the three sent
    assert plan.wallet_after.energy == 0
    stricter = FeePolicy(max_fee_sun={USDT: 3_249_999})
    plan = decide_all(usdt(4), [EXISTING] * 4, wallet(162_500), stricter, hot_wallet=HOT)
    assert [i.reason for i in plan.items] == [None, None] + [BlockReason.INSUFFICIENT_ENERGY] * 2
    # the energy the blocked third payout did not take is still there for a later one
    assert plan.wallet_after.energy == 32_500


def test_max_fee_zero_sends_only_what_stake_and_free_bandwidth_pay_for() -> None:
    policy = FeePolicy(max_fee_sun={USDT: 0})
    covered = decide(usdt(1)[0], EXISTING, wallet(65_000), policy, hot_wallet=HOT)
    assert covered.item.decision is Decision.SEND
    assert covered.item.quote is not None
    assert covered.item.quote.expected_fee_sun == 0
    # stake covers the energy but the bandwidth must be burned: not an energy shortage
    no_bw = decide(usdt(1)[0], EXISTING, wallet(65_000, bandwidth=0), policy, hot_wallet=HOT)
    assert no_bw.item.reason == BlockReason.FEE_ABOVE_MAX


def test_max_fee_is_per_asset_and_counts_activation_and_memo_fees() -> None:
    new_account = Recipient(exists=False, blacklisted=False, new_holder=False, energy=0)
    trx = PayoutRequest("t", TRX, DEST, 5_000_000)
    policy = FeePolicy(max_fee_sun={TRX: 1_000_000})
    assert decide(trx, new_account, wallet(0), policy, hot_wallet=HOT).item.reason == (
        BlockReason.FEE_ABOVE_MAX
    )
    # the USDT maximum does not apply to TRX payouts
    only_usdt = FeePolicy(max_fee_sun={USDT: 0})
    assert decide(trx, new_account, wallet(0), only_usdt, hot_wallet=HOT).item.decision is (
        Decision.SEND
    )
    memo = PayoutRequest("m", USDT, DEST, 1, memo_bytes=10)
    quote = price(memo, EXISTING, wallet(65_000, memo_fee=1_000_000), FeePolicy())
    assert quote.memo_fee_sun == quote.expected_fee_sun == 1_000_000
    assert quote.trx_required_sun >= 1_000_000


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from((64_285, 130_285)), min_size=1, max_size=15),
    st.integers(0, 2_000_000),
    st.none() | st.integers(0, 20_000_000),
)
def test_stake_is_never_promised_twice_and_the_maximum_holds(
    energies: list[int], staked: int, cap: int | None
) -> None:
    policy = FeePolicy(max_fee_sun={} if cap is None else {USDT: cap})
    reqs = usdt(len(energies))
    rcpts = [Recipient(True, False, e == 130_285, e) for e in energies]
    plan = decide_all(reqs, rcpts, wallet(staked), policy, hot_wallet=HOT)
    sent = [i.quote for i in plan.to_send if i.quote is not None]
    assert sum(q.energy_from_stake for q in sent) == staked - plan.wallet_after.energy
    for q in sent:
        assert q.energy_from_stake + q.energy_burned == q.energy_needed
        assert q.expected_fee_sun == q.energy_burned * PRICE
        if cap is not None:
            assert q.expected_fee_sun <= cap
    if cap is None:
        assert len(sent) == len(reqs)
    for item in plan.items:
        if item.decision is Decision.BLOCK:
            assert item.reason == BlockReason.INSUFFICIENT_ENERGY


def test_staked_and_free_bandwidth_are_two_pools() -> None:
    """java-tron takes a transaction's bytes whole from staked, else whole from free
    bandwidth: 300 + 300 bytes left do not pay for one transaction of 420."""
    split = replace(wallet(65_000, bandwidth=600), free_bandwidth=300)
    quote = price(usdt(1)[0], EXISTING, split, FeePolicy())
    assert quote.bandwidth_burn_sun == TRC20_TX_BYTES * 1_000
    # staked first, then the free pool; a burned transaction takes from neither
    two = replace(wallet(10**6, bandwidth=TRC20_TX_BYTES * 3), free_bandwidth=TRC20_TX_BYTES * 2)
    plan = decide_all(usdt(4), [EXISTING] * 4, two, FeePolicy(), hot_wallet=HOT)
    burns = [i.quote.bandwidth_burn_sun for i in plan.items if i.quote is not None]
    assert burns == [0, 0, 0, TRC20_TX_BYTES * 1_000]
    assert (plan.wallet_after.bandwidth, plan.wallet_after.free_bandwidth) == (0, 0)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 3_000),
    st.integers(0, 3_000),
    st.integers(0, 10),
)
def test_live_attempts_take_staked_bandwidth_before_free(staked: int, free: int, live: int) -> None:
    reads = WalletReads(
        balance_sun=10**12,
        token_units=10**12,
        energy_available=0,
        bandwidth_available=staked + free,
        energy_price_sun=100,
        bandwidth_price_sun=1_000,
        activation_fee_sun=0,
        blacklisted=False,
        free_bandwidth_available=free,
    )
    state = wallet_state(HOT, reads, Reserved(tx_count=live))
    taken = live * TRC20_TX_BYTES
    assert state.bandwidth == max(0, staked + free - taken)
    assert state.free_bandwidth == max(0, free - max(0, taken - staked))
    assert state.free_bandwidth is not None
    assert 0 <= state.free_bandwidth <= state.bandwidth
