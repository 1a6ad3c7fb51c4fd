"""The raw_data codec: round trips for every contract type, canonical-form strictness,
fuzzing of the decoder, and the official protobuf runtime as an oracle."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tronpay.tron.codec import MAX_TRANSACTION_SIZE, SignedTransaction
from tronpay.tron.errors import DecodeError, EncodeError
from tronpay.tron.protobuf import bytes_field, varint_field
from tronpay.tron.transaction import (
    decode_raw_data,
    decode_transaction,
    encode_raw_data,
    encode_transaction,
    txid,
)

from . import pb_oracle
from .support import CONTRACT_VALUES, SIGNED, raw_datas

ROUND_TRIP = settings(max_examples=120, deadline=None)


@pytest.mark.parametrize("type_name", sorted(CONTRACT_VALUES))
@ROUND_TRIP
@given(data=st.data())
def test_round_trip_every_contract_type(type_name: str, data: st.DataObject) -> None:
    raw_data = data.draw(raw_datas(type_name))
    raw = encode_raw_data(raw_data)
    assert decode_raw_data(raw) == raw_data
    assert encode_raw_data(decode_raw_data(raw)) == raw


@pytest.mark.parametrize("type_name", sorted(CONTRACT_VALUES))
@ROUND_TRIP
@given(data=st.data())
def test_encoding_matches_official_protobuf_runtime(type_name: str, data: st.DataObject) -> None:
    raw_data = data.draw(raw_datas(type_name))
    assert encode_raw_data(raw_data) == pb_oracle.serialize_raw_data(raw_data)


@ROUND_TRIP
@given(raw_datas(), st.lists(st.binary(min_size=65, max_size=65), max_size=3))
def test_transaction_envelope_round_trip(raw_data: dict[str, Any], sigs: list[bytes]) -> None:
    raw = encode_raw_data(raw_data)
    data = encode_transaction(raw, sigs)
    decoded = decode_transaction(data)
    assert decoded == SignedTransaction(raw=raw, signatures=sigs)
    assert decoded.txid == txid(raw)
    assert pb_oracle.parse_transaction(data) == (raw, sigs)


def test_vector_envelope() -> None:
    vector = SIGNED[0]
    raw = bytes.fromhex(vector["raw_data_hex"])
    sig = bytes.fromhex(vector["signature"])
    data = encode_transaction(raw, [sig])
    assert data == bytes_field(1, raw) + bytes_field(2, sig)
    assert decode_transaction(data).signatures == [sig]


def test_explicit_defaults_in_json_are_accepted_and_dropped() -> None:
    """tronpy and some nodes print zero fields; they encode to nothing, like protobuf."""
    vector = next(v for v in SIGNED if v["name"] == "usdt-transfer-key-1")
    raw_data = copy.deepcopy(vector["raw_data"])
    raw_data["contract"][0]["parameter"]["value"].update(
        call_value=0, call_token_value=0, token_id=0
    )
    assert encode_raw_data(raw_data).hex() == vector["raw_data_hex"]


def _trx_raw_data() -> dict[str, Any]:
    return copy.deepcopy(next(v for v in SIGNED if v["name"] == "shasta-transfer-with-memo"))[
        "raw_data"
    ]


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    raw_data = _trx_raw_data()
    target: Any = raw_data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw_data


VALUE = ("contract", 0, "parameter", "value")


@pytest.mark.parametrize(
    ("raw_data", "message"),
    [
        (_set(("auths",), []), "unsupported field"),
        (_set(("contract",), []), "exactly one"),
        (_set(("contract",), [{}, {}]), "exactly one"),
        (_set(("contract", 0, "type"), "VoteWitnessContract"), "unsupported contract type"),
        (_set(("contract", 0, "provider"), "00"), "unsupported field"),
        (_set(("contract", 0, "parameter", "type_url"), "x"), "type_url"),
        (_set((*VALUE, "amount"), "1000"), "integer"),
        (_set((*VALUE, "amount"), 1.5), "integer"),
        (_set((*VALUE, "amount"), True), "integer"),
        (_set((*VALUE, "amount"), 2**63), "range"),
        (_set((*VALUE, "to_address"), "TFVfhkyJAULWQbHMgVfgbkmgeGBkHo5zru"), "41..."),
        (_set((*VALUE, "to_address"), "42" + "00" * 20), "41..."),
        (_set((*VALUE, "bogus"), 1), "unsupported field"),
        (_set(("ref_block_bytes",), "00"), "exactly 2 bytes"),
        (_set(("ref_block_hash",), "zz" * 8), "not valid hex"),
        (_set(("data",), 5), "hex string"),
        (_set(("data",), "02 c7"), "not valid hex"),
        (_set(("data",), "02c"), "not valid hex"),
        (_set(("contract", 0, "Permission_id"), -1), "range"),
        (_set(("data",), "00" * MAX_TRANSACTION_SIZE), "500 KiB"),
    ],
)
def test_encode_rejects_bad_json(raw_data: dict[str, Any], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        encode_raw_data(raw_data)


def test_encode_rejects_non_objects() -> None:
    with pytest.raises(EncodeError):
        encode_raw_data([])  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        encode_raw_data(_set(("contract", 0, "parameter"), "x"))


def _raw_of(raw_data: dict[str, Any]) -> bytes:
    return encode_raw_data(raw_data)


def _contract_bytes(type_number: int, type_url: str, value: bytes) -> bytes:
    any_ = bytes_field(1, type_url.encode()) + (bytes_field(2, value) if value else b"")
    return varint_field(1, type_number) + bytes_field(2, any_)


TRANSFER_URL = "type.googleapis.com/protocol.TransferContract"
OWNER = bytes.fromhex("419cf784b4cc7531f1598c4c322de9afdc597fe760")
GOOD_VALUE = bytes_field(1, OWNER) + varint_field(3, 5)
BASE = bytes_field(1, b"\x6e\xcf") + bytes_field(4, bytes(8)) + varint_field(8, 1)


def test_hand_built_raw_is_accepted() -> None:
    raw = BASE + bytes_field(11, _contract_bytes(1, TRANSFER_URL, GOOD_VALUE))
    assert decode_raw_data(raw)["contract"][0]["parameter"]["value"] == {
        "owner_address": OWNER.hex(),
        "amount": 5,
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (BASE, "exactly one contract"),
        (BASE + bytes_field(9, b""), "unsupported field 9"),  # auths
        (BASE + bytes_field(12, b"x"), "unsupported field 12"),  # scripts
        (varint_field(8, 1) + bytes_field(1, b"ab"), "out of order"),
        (varint_field(8, 1) + varint_field(8, 2), "out of order or repeated"),
        (varint_field(8, 0), "default value"),
        (bytes_field(10, b""), "default value"),
        (bytes_field(8, b"\x01"), "wrong wire type"),
        (varint_field(1, 1), "wrong wire type"),
        (bytes_field(1, b"abc"), "exactly 2 bytes"),
        (BASE + bytes_field(11, _contract_bytes(4, TRANSFER_URL, GOOD_VALUE)), "unknown enum"),
        (BASE + bytes_field(11, _contract_bytes(31, TRANSFER_URL, GOOD_VALUE)), "type_url"),
        (BASE + bytes_field(11, varint_field(1, 1)), "without type or parameter"),
        (BASE + bytes_field(11, bytes_field(2, b"")), "without type or parameter"),
        (
            BASE
            + bytes_field(11, _contract_bytes(1, TRANSFER_URL, GOOD_VALUE + varint_field(9, 1))),
            "unknown or unsupported field 9",
        ),
        (
            BASE + bytes_field(11, _contract_bytes(1, TRANSFER_URL, bytes_field(1, OWNER[1:]))),
            "21-byte",
        ),
        (
            BASE
            + bytes_field(
                11,
                varint_field(1, 1)
                + bytes_field(2, bytes_field(1, TRANSFER_URL.encode()) + bytes_field(2, b"")),
            ),
            "default value",
        ),
        (
            BASE
            + bytes_field(11, _contract_bytes(1, TRANSFER_URL, GOOD_VALUE))
            + bytes_field(11, _contract_bytes(1, TRANSFER_URL, GOOD_VALUE)),
            "exactly one contract",
        ),
        (
            BASE
            + bytes_field(
                11,
                varint_field(1, 1)
                + bytes_field(2, bytes_field(1, b"\xff") + bytes_field(2, GOOD_VALUE)),
            ),
            "UTF-8",
        ),
        (
            BASE
            + bytes_field(
                11,
                _contract_bytes(
                    57,
                    TRANSFER_URL.replace("Transfer", "DelegateResource"),
                    bytes_field(1, OWNER) + varint_field(5, 2),
                ),
            ),
            "bool",
        ),
        (
            BASE
            + bytes_field(
                11,
                _contract_bytes(
                    54,
                    TRANSFER_URL.replace("Transfer", "FreezeBalanceV2"),
                    bytes_field(1, OWNER) + varint_field(3, 7),
                ),
            ),
            "unknown enum",
        ),
    ],
)
def test_decode_rejects_non_canonical_or_unsupported(raw: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_raw_data(raw)


def test_decode_rejects_oversize_and_non_bytes() -> None:
    with pytest.raises(DecodeError, match="500 KiB"):
        decode_raw_data(bytes(MAX_TRANSACTION_SIZE + 1))
    with pytest.raises(DecodeError):
        decode_raw_data("0a02")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "without raw_data"),
        (bytes_field(2, bytes(65)), "unexpected field 2"),
        (bytes_field(1, b"") + bytes_field(2, bytes(65)), "without raw_data"),
        (bytes_field(5, b""), "unexpected field 5"),
        (varint_field(1, 1), "wrong wire type"),
        (bytes_field(1, b"\x0a\x02ab"), "exactly one contract"),
        (
            bytes_field(1, bytes.fromhex(SIGNED[0]["raw_data_hex"])) + bytes_field(2, bytes(64)),
            "65 bytes",
        ),
        (bytes_field(1, bytes.fromhex(SIGNED[0]["raw_data_hex"])) * 2, "unexpected field 1"),
    ],
)
def test_decode_transaction_rejects(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_transaction(data)


def test_encode_transaction_rejects() -> None:
    raw = bytes.fromhex(SIGNED[0]["raw_data_hex"])
    with pytest.raises(EncodeError):
        encode_transaction(raw, [bytes(64)])
    with pytest.raises(EncodeError):
        encode_transaction(b"", [])


# ---------------------------------------------------------------- fuzzing: only DecodeError


def _decode_or_decode_error(data: bytes) -> None:
    try:
        decoded = decode_raw_data(data)
    except DecodeError:
        return
    # Whatever is accepted is canonical: it re-encodes to exactly the same bytes.
    assert encode_raw_data(decoded) == data


def _decode_transaction_or_decode_error(data: bytes) -> None:
    try:
        decoded = decode_transaction(data)
    except DecodeError:
        return
    assert encode_transaction(decoded.raw, decoded.signatures) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
@example(b"\x5a\x02\x08")
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    _decode_or_decode_error(data)
    _decode_transaction_or_decode_error(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_datas(), st.data())
def test_mutated_encodings_only_raise_decode_error(
    raw_data: dict[str, Any], data: st.DataObject
) -> None:
    raw = bytearray(encode_raw_data(raw_data))
    mutation = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete", "byte"]))
    index = data.draw(st.integers(0, len(raw) - 1))
    if mutation == "flip":
        raw[index] ^= 1 << data.draw(st.integers(0, 7))
    elif mutation == "truncate":
        del raw[index:]
    elif mutation == "insert":
        raw.insert(index, data.draw(st.integers(0, 255)))
    elif mutation == "delete":
        del raw[index]
    else:
        raw[index] = data.draw(st.integers(0, 255))
    _decode_or_decode_error(bytes(raw))
    envelope = encode_transaction(encode_raw_data(raw_data), [])
    cut = data.draw(st.integers(0, len(envelope)))
    _decode_transaction_or_decode_error(envelope[:cut] + bytes(raw))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=50)
    | st.binary(max_size=30).map(bytes.hex),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=20), children, max_size=3)
    ),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_datas(), st.data())
def test_mutated_json_only_raises_encode_error(
    raw_data: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(_paths(raw_data)[1:]))
    replacement = data.draw(json_values)
    target: Any = raw_data
    for step in path[:-1]:
        target = target[step]
    if data.draw(st.booleans()) and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = replacement
    try:
        raw = encode_raw_data(raw_data)
    except EncodeError:
        return
    # Accepted: then it is a real transaction that decodes back to canonical JSON.
    assert encode_raw_data(decode_raw_data(raw)) == raw


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_json_only_raises_encode_error(value: Any) -> None:
    with pytest.raises(EncodeError):
        encode_raw_data(value)
