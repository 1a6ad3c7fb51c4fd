"""Addresses: base58check, hex, public keys; tronpy as an independent oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tronpy import keys as tronpy_keys

from tronpay.tron import address
from tronpay.tron.address import b58decode, b58encode
from tronpay.tron.errors import InvalidAddressError, SignatureError
from tronpay.tron.hashing import double_sha256, keccak256, sha256

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
raw_addresses = st.binary(min_size=20, max_size=20).map(lambda b: b"\x41" + b)


def test_keccak256_is_keccak_not_sha3() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"").hex() != sha256(b"").hex()
    assert keccak256(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"


def test_double_sha256() -> None:
    assert double_sha256(b"abc") == sha256(sha256(b"abc"))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=40))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@settings(max_examples=150, deadline=None)
@given(raw_addresses)
def test_address_round_trip_matches_tronpy(raw: bytes) -> None:
    text = address.encode_base58(raw)
    assert text == tronpy_keys.to_base58check_address(raw)
    assert len(text) == 34
    assert text.startswith("T")
    assert address.decode_base58(text) == raw
    assert address.to_hex(text) == raw.hex()
    assert address.from_hex(raw.hex()) == text
    assert address.from_hex(raw.hex().upper()) == text
    assert address.normalize(raw.hex()) == text


@settings(max_examples=150, deadline=None)
@given(raw_addresses, st.data())
def test_single_character_change_is_caught(raw: bytes, data: st.DataObject) -> None:
    text = address.encode_base58(raw)
    index = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(
        st.sampled_from("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
    )
    mutated = text[:index] + replacement + text[index + 1 :]
    if mutated == text:
        return
    assert not address.is_valid(mutated)
    with pytest.raises(InvalidAddressError) as info:
        address.decode_base58(mutated)
    assert info.value.reason in {"checksum", "length", "prefix"}


def test_reason_prefix_for_other_network_byte() -> None:
    raw = b"\x42" + bytes(range(1, 21))
    text = b58encode(raw + double_sha256(raw)[:4])
    with pytest.raises(InvalidAddressError) as info:
        address.decode_base58(text)
    assert info.value.reason == "prefix"
    with pytest.raises(InvalidAddressError) as info:
        address.from_hex(raw.hex())
    assert info.value.reason == "prefix"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("T" * 100, "length"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", "length"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6tt", "length"),
        (" TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "alphabet"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6O", "alphabet"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6l", "alphabet"),
    ],
)
def test_base58_reasons(text: str, reason: str) -> None:
    with pytest.raises(InvalidAddressError) as info:
        address.decode_base58(text)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    assert info.value.code == "invalid_address"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("41a614f803b6fd780986a42c78ec9c7f77e6ded1", "length"),
        ("41a614f803b6fd780986a42c78ec9c7f77e6ded13c00", "length"),
        ("41a614f803b6fd780986a42c78ec9c7f77e6ded1zz", "alphabet"),
        ("0x41a614f803b6fd780986a42c78ec9c7f77e6ded1", "alphabet"),
        ("a0a614f803b6fd780986a42c78ec9c7f77e6ded13c", "prefix"),
    ],
)
def test_hex_reasons(text: str, reason: str) -> None:
    with pytest.raises(InvalidAddressError) as info:
        address.from_hex(text)
    assert info.value.reason == reason


def test_is_valid_rejects_non_strings() -> None:
    assert not address.is_valid(None)
    assert not address.is_valid(b"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")


def test_to_bytes_accepts_all_forms() -> None:
    raw = bytes.fromhex("41a614f803b6fd780986a42c78ec9c7f77e6ded13c")
    assert address.to_bytes("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t") == raw
    assert address.to_bytes(raw.hex()) == raw
    assert address.to_bytes(raw) == raw
    with pytest.raises(InvalidAddressError):
        address.to_bytes(raw[1:])
    with pytest.raises(InvalidAddressError):
        address.encode_base58(b"\x42" + raw[1:])


def test_decoded_addresses_are_remembered_but_bad_ones_fail_every_time() -> None:
    good = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    bad = good[:-1] + ("u" if good[-1] != "u" else "v")  # same shape, wrong checksum
    first = address.to_bytes(good)
    assert address.to_bytes(good) == first == bytes.fromhex(address.to_hex(good))
    for _ in range(3):  # a refusal is never remembered as an answer
        with pytest.raises(InvalidAddressError) as info:
            address.to_bytes(bad)
        assert info.value.reason == "checksum"
    hex_upper = first.hex().upper()
    assert address.to_bytes(hex_upper) == first  # either case of hex, each its own entry


@settings(max_examples=100, deadline=None)
@given(st.integers(1, CURVE_ORDER - 1))
def test_address_from_public_key_matches_tronpy(secret: int) -> None:
    key = tronpy_keys.PrivateKey(secret.to_bytes(32, "big"))
    pub = key.public_key.to_bytes()
    assert address.encode_base58(address.address_from_public_key(pub)) == (
        key.public_key.to_base58check_address()
    )


def test_address_from_public_key_checks_length() -> None:
    with pytest.raises(SignatureError):
        address.address_from_public_key(b"\x04" + bytes(64))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60) | st.text(alphabet="0123456789abcdefABCDEF", min_size=40, max_size=44))
def test_arbitrary_text_is_classified_never_crashes(text: str) -> None:
    if address.is_valid(text):
        normalized = address.normalize(text)
        assert address.normalize(normalized) == normalized
        return
    with pytest.raises(InvalidAddressError) as info:
        address.normalize(text)
    assert info.value.reason in {"empty", "alphabet", "length", "checksum", "prefix"}
