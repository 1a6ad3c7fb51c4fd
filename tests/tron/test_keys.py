"""Keys and signatures: determinism, low-s, recovery, secrecy, and tronpy as an oracle."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tronpy import keys as tronpy_keys

from tronpay.tron.errors import SignatureError
from tronpay.tron.keys import PrivateKey, recover_address
from tronpay.tron.transaction import encode_raw_data, txid

from .support import SIGNED, TRANSACTIONS

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KEY_1 = "0000000000000000000000000000000000000000000000000000000000000001"
secrets_ = st.integers(1, CURVE_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))
txids = st.binary(min_size=32, max_size=32)


def test_vector_key_1_signature_is_reproduced() -> None:
    vector = next(t for t in TRANSACTIONS if t.get("private_key") == KEY_1)
    key = PrivateKey.from_hex(vector["private_key"])
    assert key.address == vector["owner_base58"]
    raw = encode_raw_data(vector["raw_data"])
    assert key.sign_txid(txid(raw)).hex() == vector["signature_v01"]


@settings(max_examples=100, deadline=None)
@given(secrets_, txids)
def test_sign_then_recover(secret: bytes, digest: bytes) -> None:
    key = PrivateKey(secret)
    signature = key.sign_txid(digest)
    assert len(signature) == 65
    assert signature[64] in (0, 1)
    assert int.from_bytes(signature[32:64], "big") <= CURVE_ORDER // 2  # low-s
    assert key.sign_txid(digest) == signature  # RFC 6979: deterministic
    assert recover_address(digest, signature) == key.address
    v27 = signature[:64] + bytes([signature[64] + 27])
    assert recover_address(digest, v27) == key.address


@settings(max_examples=100, deadline=None)
@given(secrets_, txids)
def test_matches_tronpy(secret: bytes, digest: bytes) -> None:
    ours = PrivateKey(secret)
    theirs = tronpy_keys.PrivateKey(secret)
    assert ours.address == theirs.public_key.to_base58check_address()
    assert ours.public_key == theirs.public_key.to_bytes()
    assert ours.sign_txid(digest) == theirs.sign_msg_hash(digest).to_bytes()


def test_recover_rejects_invalid() -> None:
    vector = SIGNED[0]
    digest, signature = bytes.fromhex(vector["txID"]), bytes.fromhex(vector["signature"])
    bad_inputs = [
        (digest[:31], signature),
        (digest, signature[:64]),
        (digest, signature + b"\x00"),
        (digest, signature[:64] + b"\x02"),
        (digest, signature[:64] + b"\x1d"),
        (digest, bytes(64) + b"\x00"),  # r = s = 0
        (digest, b"\xff" * 64 + b"\x00"),  # r, s >= n
        ("00" * 32, signature),
    ]
    for bad_digest, bad_signature in bad_inputs:
        with pytest.raises(SignatureError):
            recover_address(bad_digest, bad_signature)  # type: ignore[arg-type]
    # A valid signature over another digest recovers someone else.
    assert recover_address(bytes(32), signature) != vector["owner_base58"]


@pytest.mark.parametrize(
    "secret", [b"", bytes(31), bytes(33), bytes(32), CURVE_ORDER.to_bytes(32, "big"), b"\xff" * 32]
)
def test_invalid_secrets(secret: bytes) -> None:
    with pytest.raises(SignatureError) as info:
        PrivateKey(secret)
    assert secret.hex() not in str(info.value) or not secret


def test_from_hex_forms() -> None:
    expected = PrivateKey(bytes.fromhex(KEY_1)).address
    for text in (KEY_1, "0x" + KEY_1, f"  {KEY_1.upper()}\n", "0X" + KEY_1):
        assert PrivateKey.from_hex(text).address == expected
    for bad in ("", "0x", KEY_1[:-1], KEY_1 + "0", "zz" + KEY_1[2:]):
        with pytest.raises(SignatureError):
            PrivateKey.from_hex(bad)


def test_sign_txid_checks_length() -> None:
    with pytest.raises(SignatureError):
        PrivateKey.generate().sign_txid(b"x" * 31)


def test_generate_gives_distinct_valid_keys() -> None:
    keys = [PrivateKey.generate() for _ in range(20)]
    assert len({key.address for key in keys}) == 20
    for key in keys:
        assert key.address.startswith("T")


def test_secret_never_shown() -> None:
    key = PrivateKey.generate()
    secret_hex = key.unsafe_export_secret().hex()
    assert len(secret_hex) == 64
    for text in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr(vars_or_slots(key))):
        assert secret_hex not in text.lower()
    assert repr(key) == f"PrivateKey(address={key.address})"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        copy.copy(key)
    # The bad-hex error does not echo the input.
    bad = secret_hex[:-1] + "g"
    with pytest.raises(SignatureError) as info:
        PrivateKey.from_hex(bad)
    assert bad not in str(info.value)
    assert secret_hex[:16] not in repr(info.value)


def vars_or_slots(key: PrivateKey) -> list[str]:
    return [type(getattr(key, name)).__name__ for name in type(key).__slots__]
