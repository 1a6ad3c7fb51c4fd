"""submit never raises: arbitrary or corrupted bytes always come back as a SubmitResult."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tron_devnet.core.chain import SubmitResult

from .helpers import TRX, Net, Wallet

A, B = Wallet(1), Wallet(2)
NET = Net([(A, 1_000 * TRX, 500 * TRX)])
NET.produce()
VALID_TRX, _ = NET.trx(A, B.address, TRX)
VALID_USDT, _ = NET.usdt(A, B.address, 5)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    res = NET.chain.submit(data)
    assert isinstance(res, SubmitResult)
    assert not res.ok


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([VALID_TRX, VALID_USDT]),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=1, max_value=255),
)
def test_corrupted_valid_transactions(tx: bytes, index: int, xor: int) -> None:
    data = bytearray(tx)
    pos = index % len(data)
    data[pos] ^= xor
    res = NET.chain.submit(bytes(data))
    assert isinstance(res, SubmitResult)
    if res.ok:  # only an equivalent recovery id (v 0/1 <-> 27/28) may still be accepted
        assert pos == len(data) - 1
        assert data[pos] in (27, 28)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_random_json(data: object) -> None:
    for candidate in (data, {"raw_data": data}, {"raw_data": {"contract": [data]}}):
        res = NET.chain.submit_json(candidate)  # type: ignore[arg-type]
        assert isinstance(res, SubmitResult)
        assert not res.ok
