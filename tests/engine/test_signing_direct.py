"""``sign_batch`` with the direct TRC20 encoding it uses after checking it once per batch
(``tronpay.tron.direct``; the encoder's own property test is in tests/tron/test_direct.py):
every transaction's bytes equal the generic builder's, memo or not, and the signature
recovers to the hot wallet; a signer whose signatures do not recover stops the batch."""

from __future__ import annotations

import time

import pytest

from tronpay.engine.planner import Quote
from tronpay.engine.signing import ToSign, sign_batch
from tronpay.errors import TronpayError
from tronpay.signer import Signer, SigningFailed
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


class _SwappedKey:
    """A broken signer: it reports one key's address and signs with another key."""

    def __init__(self, address: str, signs_with: LocalSigner) -> None:
        self._address = address
        self._inner = signs_with

    @property
    def address(self) -> str:
        return self._address

    def sign(self, txid: bytes) -> bytes:
        return self._inner.sign(txid)


def test_a_signature_that_does_not_recover_stops_the_batch() -> None:
    other = LocalSigner(PrivateKey((4343).to_bytes(32, "big")))
    broken = _SwappedKey(SIGNER.address, signs_with=other)
    assert isinstance(broken, Signer)
    to = PrivateKey((9_100).to_bytes(32, "big")).address
    items = [ToSign("p1", _quote(to, 5, 1_000)), ToSign("p2", _quote(to, 6, 1_000))]
    with pytest.raises(SigningFailed) as err:
        sign_batch(
            items, ref_block=_ref(9), signer=broken, token_contract=USDT_CONTRACT, expiration_s=60
        )
    assert isinstance(err.value, TronpayError)
    assert err.value.code == "signing_failed"
    # the same items sign when the signer is sound
    ok = sign_batch(
        items, ref_block=_ref(9), signer=SIGNER, token_contract=USDT_CONTRACT, expiration_s=60
    )
    assert [s.payout_id for s in ok] == ["p1", "p2"]
