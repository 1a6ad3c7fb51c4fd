"""The pure fee and funds arithmetic (``tronpay.engine.fees``): hypothesis properties and a
few fixed cases. No node: the planner's node reads are tested against the devnet in
test_planner_devnet.py."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.engine import fees
from tronpay.engine.fees import (
    TRC20_TX_BYTES,
    TRX,
    TRX_TX_BYTES,
    USDT,
    BlockReason,
    Decision,
    FailReason,
    FeePolicy,
    PayoutRequest,
    Recipient,
    Reserved,
    WalletReads,
    WalletState,
    decide,
    decide_all,
    percent,
    price,
    wallet_state,
)
from tronpay.tron.address import encode_base58, to_hex

HOT = encode_base58(b"\x41" + bytes(range(20)))
DEST = encode_base58(b"\x41" + bytes(range(1, 21)))

policies = st.builds(
    lambda margin, extra, cap: FeePolicy(
        margin_percent=margin, retry_margin_percent=margin + extra, max_fee_limit_sun=cap
    ),
    st.integers(100, 300),
    st.integers(0, 200),
    st.integers(1, 10**9),
)
wallets = st.builds(
    WalletState,
    address=st.just(HOT),
    trx_sun=st.integers(0, 10**10),
    token_units=st.integers(0, 10**10),
    energy=st.integers(0, 500_000),
    bandwidth=st.integers(0, 5_000),
    energy_price_sun=st.integers(1, 1_000),
    bandwidth_price_sun=st.integers(1, 2_000),
    activation_fee_sun=st.integers(0, 10**7),
    blacklisted=st.just(False),
)
recipients = st.builds(
    Recipient,
    exists=st.booleans(),
    blacklisted=st.just(False),
    new_holder=st.none() | st.booleans(),
    energy=st.integers(0, 300_000),
)
requests = st.builds(
    PayoutRequest,
    payout_id=st.just("p"),
    asset=st.sampled_from((USDT, TRX)),
    to_address=st.just(DEST),
    amount=st.integers(1, 10**9),
    memo_bytes=st.integers(0, 200),
    retry_out_of_energy=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**15), st.integers(0, 1_000))
def test_percent_rounds_up(value: int, pct: int) -> None:
    result = percent(value, pct)
    assert result * 100 >= value * pct
    assert (result - 1) * 100 < value * pct


@settings(max_examples=300, deadline=None)
@given(requests, recipients, wallets, policies)
def test_fee_limit_is_the_margin_capped_by_the_maximum(
    req: PayoutRequest, rcpt: Recipient, wallet: WalletState, policy: FeePolicy
) -> None:
    quote = price(req, rcpt, wallet, policy)
    assert quote.fee_limit_sun <= policy.max_fee_limit_sun
    if req.asset == TRX:
        assert (quote.fee_limit_sun, quote.energy_needed, quote.capped) == (0, 0, False)
        return
    burn_all = rcpt.energy * wallet.energy_price_sun
    margin = policy.retry_margin_percent if req.retry_out_of_energy else policy.margin_percent
    wanted = percent(burn_all, margin)
    assert quote.fee_limit_sun == min(wanted, policy.max_fee_limit_sun)
    assert quote.capped == (wanted > policy.max_fee_limit_sun)
    if not quote.capped:
        # Never below what the whole call may burn, staked energy included.
        assert quote.fee_limit_sun >= burn_all
        assert quote.trx_required_sun >= quote.expected_fee_sun


@settings(max_examples=300, deadline=None)
@given(requests, recipients, wallets, policies)
def test_a_retry_after_out_of_energy_never_lowers_the_fee_limit(
    req: PayoutRequest, rcpt: Recipient, wallet: WalletState, policy: FeePolicy
) -> None:
    first = price(
        PayoutRequest(req.payout_id, USDT, req.to_address, req.amount), rcpt, wallet, policy
    )
    retry = price(
        PayoutRequest(req.payout_id, USDT, req.to_address, req.amount, retry_out_of_energy=True),
        rcpt,
        wallet,
        policy,
    )
    assert first.fee_limit_sun <= retry.fee_limit_sun <= policy.max_fee_limit_sun


@settings(max_examples=300, deadline=None)
@given(st.lists(requests, max_size=12), st.data(), wallets, policies)
def test_what_is_sent_together_fits_the_wallet_together(
    reqs: list[PayoutRequest], data: st.DataObject, wallet: WalletState, policy: FeePolicy
) -> None:
    reqs = [
        PayoutRequest(f"p{n}", r.asset, r.to_address, r.amount, r.memo_bytes)
        for n, r in enumerate(reqs)
    ]
    rcpts = [data.draw(recipients) for _ in reqs]
    plan = decide_all(reqs, rcpts, wallet, policy, hot_wallet=HOT)
    sent = [item.quote for item in plan.to_send if item.quote is not None]
    assert len(sent) == len(plan.to_send)
    assert sum(q.trx_required_sun for q in sent) <= wallet.trx_sun
    assert sum(q.token_units for q in sent) <= wallet.token_units
    assert plan.wallet_after.trx_sun == wallet.trx_sun - sum(q.trx_required_sun for q in sent)
    for quote in sent:
        # A sent TRC20 transfer's fee_limit covers its whole estimate.
        assert quote.fee_limit_sun >= quote.energy_needed * quote.energy_price_sun
        assert quote.fee_limit_sun <= policy.max_fee_limit_sun
    for item in plan.items:
        if item.decision is Decision.BLOCK and item.reason == BlockReason.FEE_LIMIT_CAP:
            assert item.quote is not None
            assert item.quote.capped


def test_decide_fails_what_can_never_be_paid() -> None:
    wallet = WalletState(HOT, 10**9, 10**9, 0, 0, 100, 1_000, 1_100_000, blacklisted=False)
    rcpt = Recipient(exists=True, blacklisted=False, new_holder=False, energy=65_000)
    policy = FeePolicy()

    def reason(req: PayoutRequest, recipient: Recipient | None = rcpt) -> str | None:
        return decide(req, recipient, wallet, policy, hot_wallet=HOT).item.reason

    assert reason(PayoutRequest("p", "BTC", DEST, 1)) == FailReason.UNSUPPORTED_ASSET
    # The hot wallet in another spelling (hex) is still the hot wallet.
    assert reason(PayoutRequest("p", USDT, to_hex(HOT), 1)) == FailReason.DESTINATION_IS_HOT_WALLET
    listed = Recipient(exists=True, blacklisted=True, new_holder=None, energy=0)
    assert reason(PayoutRequest("p", USDT, DEST, 1), listed) == FailReason.DESTINATION_BLACKLISTED
    assert reason(PayoutRequest("p", USDT, DEST, 1), None) == BlockReason.INSUFFICIENT_TOKEN
    failed = Recipient(True, False, None, 0, estimate_error="REVERT")
    assert reason(PayoutRequest("p", USDT, DEST, 1), failed) == BlockReason.ESTIMATE_FAILED
    capped = FeePolicy(max_fee_limit_sun=65_000 * 100 - 1)
    decided = decide(PayoutRequest("p", USDT, DEST, 1), rcpt, wallet, capped, hot_wallet=HOT)
    assert decided.item.reason == BlockReason.FEE_LIMIT_CAP
    assert decided.wallet == wallet  # a blocked payout spends nothing


def test_a_trx_transfer_to_a_new_account_pays_the_activation_fee() -> None:
    wallet = WalletState(HOT, 10**9, 0, 0, 0, 100, 1_000, 1_100_000, blacklisted=False)
    new = price(
        PayoutRequest("p", TRX, DEST, 5), Recipient(False, False, False, 0), wallet, FeePolicy()
    )
    # No free bandwidth: the bytes are burned; the new account costs the activation fee.
    assert new.bandwidth_burn_sun == TRX_TX_BYTES * 1_000
    assert new.activation_fee_sun == 1_100_000
    assert new.trx_required_sun == 5 + TRX_TX_BYTES * 1_000 + 1_100_000
    assert new.expected_fee_sun == TRX_TX_BYTES * 1_000 + 1_100_000


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        WalletReads,
        balance_sun=st.integers(0, 10**12),
        token_units=st.integers(0, 10**12),
        energy_available=st.integers(0, 10**7),
        bandwidth_available=st.integers(0, 10**5),
        energy_price_sun=st.integers(0, 1_000),
        bandwidth_price_sun=st.integers(0, 2_000),
        activation_fee_sun=st.integers(0, 10**7),
        blacklisted=st.booleans(),
    ),
    st.builds(
        Reserved,
        trx_sun=st.integers(0, 10**10),
        token_units=st.integers(0, 10**10),
        tx_count=st.integers(0, 500),
        trx_transfers=st.integers(0, 500),
        fee_limit_sun=st.integers(0, 10**9),
    ),
)
def test_live_attempts_only_ever_take_from_the_wallet(
    reads: WalletReads, reserved: Reserved
) -> None:
    free = wallet_state(HOT, reads, Reserved())
    assert (free.trx_sun, free.token_units) == (reads.balance_sun, reads.token_units)
    assert (free.energy, free.bandwidth) == (reads.energy_available, reads.bandwidth_available)
    net = wallet_state(HOT, reads, reserved)
    assert net.trx_sun <= free.trx_sun - reserved.trx_sun
    assert net.token_units == free.token_units - reserved.token_units
    assert 0 <= net.energy <= free.energy
    assert net.bandwidth == max(0, free.bandwidth - reserved.tx_count * TRC20_TX_BYTES)


def test_the_fee_arithmetic_stays_pure() -> None:
    """No node client, HTTP client or database: the planner does the reads."""
    tree = ast.parse(Path(fees.__file__).read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert "tronpay.tron.address" in imported  # the check sees the imports at all
    forbidden = ("tronpay.tron.node", "httpx", "sqlalchemy", "tronpay.db", "asyncio")
    assert not {name for name in imported if name.startswith(forbidden)}
