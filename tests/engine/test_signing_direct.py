"""The direct TRC20 encoding ``sign_batch`` uses after checking it once per batch: every
transaction's bytes equal the generic builder's, memo or not, small or large values, and the
signature recovers to the hot wallet."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.engine.planner import Quote
from tronpay.engine.signing import ToSign, Trc20Encoder, sign_batch
from tronpay.signer.local import LocalSigner
from tronpay.tron.builders import RefBlock, build_trc20_transfer
from tronpay.tron.codec import decode_raw_data, encode_raw_data
from tronpay.tron.keys import PrivateKey, recover_address
from tronpay.tron.node import BlockRef

USDT_CONTRACT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
SIGNER = LocalSigner(PrivateKey((4242).to_bytes(32, "big")))


def _quote(to: str, amount: int, fee_limit: int) -> Quote:
    return Quote(
        "USDT", to, amount, True, None, 130_285, 0, 100, fee_limit, 420, 1000, 0, 0, 0, 0,
        amount, False,
    )  # fmt: skip


def _ref(number: int) -> BlockRef:
    block_id = number.to_bytes(8, "big").hex() + "cd" * 24
    return BlockRef(number, block_id, int(time.time() * 1000), "", ())


def test_batch_bytes_equal_the_generic_builder() -> None:
    to = [PrivateKey((9_000 + i).to_bytes(32, "big")).address for i in range(40)]
    items = [
        ToSign(f"p{i}", _quote(a, 1 + i * 10**9, 1_000 + i), "memo é" if i % 3 == 0 else None)
        for i, a in enumerate(to)
    ]
    ref = _ref(123_456)
    signed = sign_batch(
        items, ref_block=ref, signer=SIGNER, token_contract=USDT_CONTRACT, expiration_s=60
    )
    rb = RefBlock.from_block(ref.number, ref.id)
    assert len({s.txid for s in signed}) == len(items)
    for item, s in zip(items, signed, strict=True):
        generic = build_trc20_transfer(
            SIGNER.address,
            USDT_CONTRACT,
            item.quote.to_address,
            item.quote.amount,
            ref=rb,
            timestamp_ms=int(_decoded_timestamp(s.raw_data)),
            expiration_ms=s.expiration_ms,
            fee_limit=item.quote.fee_limit_sun,
            memo=item.memo,
        )
        assert s.raw_data == encode_raw_data(generic)
        assert recover_address(bytes.fromhex(s.txid), s.signature) == SIGNER.address


def _decoded_timestamp(raw: bytes) -> int:
    return int(decode_raw_data(raw)["timestamp"])


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
    ref = _ref(77)
    rb = RefBlock.from_block(ref.number, ref.id)
    direct = Trc20Encoder(SIGNER.address, USDT_CONTRACT, rb).raw(
        to, amount, timestamp_ms=ts, expiration_ms=ts + 60_000, fee_limit=fee_limit, memo=memo
    )
    generic = build_trc20_transfer(
        SIGNER.address,
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
