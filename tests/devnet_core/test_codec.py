"""Codecs: public vectors decode to the expected JSON and txid; addresses; JSON round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tron_devnet.core import crypto, message_json, proto
from tron_devnet.core.chain import ChainConfig

from .helpers import T0, TRX, Net, Wallet, contract_bytes, raw_bytes, sign, transfer_param

VECTORS = json.loads(Path(__file__).parents[1].joinpath("tron", "vectors.json").read_text())
SIGNED = [t for t in VECTORS["transactions"] if "raw_data_hex" in t]


@pytest.mark.parametrize("vec", SIGNED, ids=lambda v: v["name"])
def test_vector_decodes_to_expected_json_and_txid(vec: dict[str, Any]) -> None:
    raw = proto.TransactionRaw.FromString(bytes.fromhex(vec["raw_data_hex"]))
    assert crypto.sha256(raw.SerializeToString()).hex() == vec["txID"]
    assert raw.SerializeToString().hex() == vec["raw_data_hex"]
    assert message_json.raw_to_json(raw) == vec["raw_data"]


@pytest.mark.parametrize("vec", SIGNED, ids=lambda v: v["name"])
def test_vector_json_reencodes_to_same_bytes(vec: dict[str, Any]) -> None:
    raw = message_json.raw_from_json(vec["raw_data"])
    assert raw.SerializeToString().hex() == vec["raw_data_hex"]


def test_vector_signatures_recover_owner_with_v01_and_v27() -> None:
    for vec in SIGNED:
        sigs = [vec[k] for k in ("signature", "signature_v01", "signature_v27") if k in vec]
        for sig in sigs:
            addr = crypto.recover_address(bytes.fromhex(vec["txID"]), bytes.fromhex(sig))
            assert crypto.to_base58(addr) == vec["owner_base58"]


def test_bad_recovery_id_is_a_signature_error() -> None:
    vec = SIGNED[1]
    sig = bytearray.fromhex(vec["signature_v01"])
    sig[64] = 5
    with pytest.raises(crypto.SignatureError):
        crypto.recover_address(bytes.fromhex(vec["txID"]), bytes(sig))
    with pytest.raises(crypto.SignatureError):
        crypto.recover_address(bytes.fromhex(vec["txID"]), bytes(sig[:64]))


def test_address_vectors() -> None:
    for item in VECTORS["addresses"]:
        assert crypto.hex_to_base58(item["hex"]) == item["base58"]
        assert crypto.base58_to_hex(item["base58"]) == item["hex"]
    for bad in VECTORS["invalid_addresses"]:
        with pytest.raises(crypto.AddressError):
            crypto.parse_address(bad)
    key1 = next(v for v in SIGNED if "private_key" in v)
    addr = crypto.address_of_private_key(bytes.fromhex(key1["private_key"]))
    assert crypto.to_base58(addr) == key1["owner_base58"]


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=20, max_size=20))
def test_base58_round_trip(body: bytes) -> None:
    addr = b"\x41" + body
    assert crypto.from_base58(crypto.to_base58(addr)) == addr


@settings(max_examples=100, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=2**62),
    expiration=st.integers(min_value=1, max_value=2**62),
    memo=st.binary(max_size=40),
    fee_limit=st.integers(min_value=0, max_value=2**62),
)
def test_handwritten_bytes_decode_and_round_trip_json(
    amount: int, expiration: int, memo: bytes, fee_limit: int
) -> None:
    a, b = Wallet(11), Wallet(12)
    raw = raw_bytes(
        [contract_bytes("TransferContract", transfer_param(a.address, b.address, amount))],
        ref_bytes=b"\x12\x34",
        ref_hash=b"\x01" * 8,
        expiration=expiration,
        timestamp=T0,
        fee_limit=fee_limit,
        memo=memo,
    )
    msg = proto.TransactionRaw.FromString(raw)
    assert msg.SerializeToString() == raw
    as_json = message_json.raw_to_json(msg)
    assert as_json["contract"][0]["parameter"]["value"]["amount"] == amount
    assert message_json.raw_from_json(as_json).SerializeToString() == raw


def test_submit_json_matches_submit_of_the_same_bytes() -> None:
    a, b = Wallet(1), Wallet(2)
    net = Net([(a, 100 * TRX, 0)])
    tx, txid = net.trx(a, b.address, TRX)
    decoded = proto.Transaction.FromString(tx)
    as_json = {
        "raw_data": message_json.raw_to_json(decoded.raw_data),
        "signature": [s.hex() for s in decoded.signature],
        "txID": "ignored",
    }
    res = net.chain.submit_json(as_json)
    assert res.ok
    assert res.txid == txid
    again = net.chain.submit(tx)  # the same transaction as bytes: same txid
    assert (again.ok, again.txid) == (True, txid)


def test_submit_json_bad_shape_is_other_error() -> None:
    net = Net([])
    res = net.chain.submit_json({"raw_data": {"contract": [{"type": "Nope"}]}})
    assert not res.ok
    assert res.code == "OTHER_ERROR"
    res = net.chain.submit_json({"raw_data": {"expiration": "x"}, "signature": ["zz"]})
    assert res.code == "OTHER_ERROR"


def test_signed_vector_is_accepted_by_a_chain_with_matching_tapos() -> None:
    """The independently built key-1 USDT vector passes every check but TAPOS on our chain."""
    vec = next(v for v in SIGNED if "private_key" in v)
    tx, txid = sign(bytes.fromhex(vec["raw_data_hex"]), Wallet(1))
    assert txid == vec["txID"]
    net = Net([(Wallet(1), 100 * TRX, 10 * TRX)], ChainConfig(genesis_timestamp_ms=T0))
    res = net.chain.submit(tx)
    assert (res.ok, res.code, res.txid) == (False, "TAPOS_ERROR", vec["txID"])
