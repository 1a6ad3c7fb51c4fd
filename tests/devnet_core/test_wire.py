"""The devnet's hand-written wire codec against google.protobuf and the devnet's messages."""

from __future__ import annotations

import pytest
from google.protobuf.internal import decoder as pb_decoder
from google.protobuf.internal import encoder as pb_encoder
from hypothesis import given, settings
from hypothesis import strategies as st

from tron_devnet.core import proto, wire


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_varint_round_trip_and_matches_google(value: int) -> None:
    data = wire.encode_varint(value)
    assert data == pb_encoder._VarintBytes(value)
    assert wire.read_varint(data, 0) == wire.Varint(value, len(data))
    assert pb_decoder._DecodeVarint(data, 0) == (value, len(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1), st.binary(max_size=40))
def test_fields_read_what_protobuf_writes_and_back(amount: int, owner: bytes) -> None:
    message = proto.CONTRACT_CLASSES["TransferContract"]()
    message.owner_address = owner
    message.amount = amount
    data = message.SerializeToString()
    expected = ([wire.WireField(1, owner)] if owner else []) + (
        [wire.WireField(3, amount % 2**64)] if amount else []
    )
    assert wire.fields(data) == expected
    ours = (wire.bytes_field(1, owner) if owner else b"") + (
        wire.varint_field(3, amount) if amount else b""
    )
    assert ours == data


@pytest.mark.parametrize("value", [-(2**63) - 1, 2**64])
def test_encode_varint_range(value: int) -> None:
    with pytest.raises(ValueError, match="range"):
        wire.encode_varint(value)


@pytest.mark.parametrize(
    "data",
    [
        b"\x80",  # a key that never ends
        b"\x08",  # a varint field without its value
        b"\x0a\x05ab",  # a length beyond the end
        b"\x0b",  # wire type 3 (start group)
    ],
)
def test_malformed_messages_raise_wire_error(data: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.fields(data)


def test_fixed_width_fields_are_skipped_and_values_selected() -> None:
    data = (
        wire.varint_field(1, 31)
        + wire.field_key(2, wire.WIRE_FIXED64)
        + bytes(8)
        + wire.field_key(3, wire.WIRE_FIXED32)
        + bytes(4)
        + wire.bytes_field(4, b"x")
        + wire.bytes_field(4, b"")
    )
    assert wire.fields(data) == [
        wire.WireField(1, 31),
        wire.WireField(4, b"x"),
        wire.WireField(4, b""),
    ]
    assert wire.varint_values(data, 1) == [31]
    assert wire.bytes_values(data, 4) == [b"x", b""]
    assert wire.bytes_values(data, 1) == []
