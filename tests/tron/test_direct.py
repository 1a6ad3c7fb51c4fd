"""The direct TRC20 encoder (``tronpay.tron.direct.Trc20Encoder``) writes exactly the bytes of
the generic path, ``encode_raw_data(build_trc20_transfer(...))``, for arbitrary amounts, fee
limits, timestamps, memos and recipients."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.tron.keys import PrivateKey
from tronpay.tron.transaction import RefBlock, Trc20Encoder, build_trc20_transfer, encode_raw_data

USDT_CONTRACT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
OWNER = PrivateKey((4242).to_bytes(32, "big")).address
BLOCK_ID = (77).to_bytes(8, "big").hex() + "cd" * 24


@settings(max_examples=100, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=(1 << 63) - 1),
    fee_limit=st.integers(min_value=1, max_value=(1 << 62)),
    ts=st.integers(min_value=1, max_value=1 << 50),
    memo=st.one_of(st.none(), st.text(max_size=40)),
    key=st.integers(min_value=1, max_value=10**9),
)
def test_direct_encoder_matches_generic(
    amount: int, fee_limit: int, ts: int, memo: str | None, key: int
) -> None:
    to = PrivateKey(key.to_bytes(32, "big")).address
    rb = RefBlock.from_block(77, BLOCK_ID)
    direct = Trc20Encoder(OWNER, USDT_CONTRACT, rb).raw(
        to, amount, timestamp_ms=ts, expiration_ms=ts + 60_000, fee_limit=fee_limit, memo=memo
    )
    generic = build_trc20_transfer(
        OWNER,
        USDT_CONTRACT,
        to,
        amount,
        ref=rb,
        timestamp_ms=ts,
        expiration_ms=ts + 60_000,
        fee_limit=fee_limit,
        memo=memo,
    )
    assert direct == encode_raw_data(generic)
