"""TRC20 call data and result decoding; eth_abi (installed with tronpy) as the oracle."""

from __future__ import annotations

import eth_abi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.tron import abi
from tronpay.tron.errors import DecodeError, EncodeError, InvalidAddressError, TronError

RECIPIENT = "TFVfhkyJAULWQbHMgVfgbkmgeGBkHo5zru"
RECIPIENT_EVM = "0x3c9b65b212316904572826240224750eccce29a2"


def test_selectors() -> None:
    assert abi.TRANSFER_SELECTOR.hex() == "a9059cbb"
    assert abi.BALANCE_OF_SELECTOR.hex() == "70a08231"
    assert abi.DECIMALS_SELECTOR.hex() == "313ce567"
    # Tether's blacklist view, computed with keccak and pinned here.
    assert abi.selector("isBlackListed(address)") == abi.IS_BLACKLISTED_SELECTOR
    assert abi.IS_BLACKLISTED_SELECTOR.hex() == "e47d6060"


def test_known_transfer_call_from_vector() -> None:
    data = abi.transfer_call(RECIPIENT, 1_000_000)
    assert data.hex() == (
        "a9059cbb0000000000000000000000003c9b65b212316904572826240224750eccce29a2"
        "00000000000000000000000000000000000000000000000000000000000f4240"
    )
    decoded = abi.decode_transfer(data)
    assert decoded == abi.TransferCall(to=RECIPIENT, amount=1_000_000)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=20, max_size=20), st.integers(0, 2**256 - 1))
def test_transfer_call_matches_eth_abi(evm: bytes, amount: int) -> None:
    to_hex = "41" + evm.hex()
    data = abi.transfer_call(to_hex, amount)
    assert data == abi.TRANSFER_SELECTOR + eth_abi.encode(
        ["address", "uint256"], ["0x" + evm.hex(), amount]
    )
    decoded = abi.decode_transfer(data)
    assert decoded.amount == amount
    assert abi.decode_transfer(abi.transfer_call(decoded.to, amount)) == decoded


def test_other_calls() -> None:
    word = bytes(12) + bytes.fromhex(RECIPIENT_EVM[2:])
    assert abi.balance_of_call(RECIPIENT) == bytes.fromhex("70a08231") + word
    assert abi.is_blacklisted_call(RECIPIENT) == bytes.fromhex("e47d6060") + word
    assert abi.decimals_call() == bytes.fromhex("313ce567")


@pytest.mark.parametrize("amount", [-1, 2**256, True])
def test_amount_out_of_range(amount: int) -> None:
    with pytest.raises(EncodeError) as info:
        abi.transfer_call(RECIPIENT, amount)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TronError)


def test_invalid_recipient() -> None:
    with pytest.raises(InvalidAddressError):
        abi.transfer_call("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T", 1)


def test_decoders() -> None:
    assert abi.decode_uint256((6).to_bytes(32, "big")) == 6
    assert abi.decode_uint256(b"\xff" * 32) == 2**256 - 1
    assert abi.decode_bool((1).to_bytes(32, "big")) is True
    assert abi.decode_bool(bytes(32)) is False
    for bad in (b"", bytes(31), bytes(33), bytes(64)):
        with pytest.raises(DecodeError):
            abi.decode_uint256(bad)
        with pytest.raises(DecodeError):
            abi.decode_bool(bad)
    with pytest.raises(DecodeError):
        abi.decode_bool((2).to_bytes(32, "big"))


def test_decode_transfer_rejects_malformed() -> None:
    good = abi.transfer_call(RECIPIENT, 5)
    with pytest.raises(DecodeError):
        abi.decode_transfer(good[:-1])
    with pytest.raises(DecodeError):
        abi.decode_transfer(good + b"\x00")
    with pytest.raises(DecodeError):
        abi.decode_transfer(abi.BALANCE_OF_SELECTOR + good[4:])
    with pytest.raises(DecodeError):
        abi.decode_transfer(good[:4] + b"\x01" + good[5:])  # dirty address padding
