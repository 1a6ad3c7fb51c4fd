"""The wire layer: varints and field iteration, against google.protobuf's own codec."""

from __future__ import annotations

import pytest
from google.protobuf.internal import decoder as pb_decoder
from google.protobuf.internal import encoder as pb_encoder
from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.tron import protobuf as wire
from tronpay.tron.errors import DecodeError


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_varint_round_trip_and_matches_google(value: int) -> None:
    data = wire.encode_varint(value)
    assert wire.read_varint(data, 0) == (value, len(data))
    assert data == pb_encoder._VarintBytes(value)
    assert pb_decoder._DecodeVarint(data, 0) == (value, len(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(wire.INT64_MIN, wire.INT64_MAX))
def test_int64_round_trip(value: int) -> None:
    data = wire.encode_int64(value)
    raw, _ = wire.read_varint(data, 0)
    assert wire.as_int64(raw) == value
    assert len(data) == (10 if value < 0 else len(wire.encode_varint(value)))


@pytest.mark.parametrize("value", [-1, 2**64])
def test_encode_varint_range(value: int) -> None:
    with pytest.raises(ValueError, match="range"):
        wire.encode_varint(value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"\x80", "truncated"),
        (b"\xff\xff", "truncated"),
        (b"\x80\x00", "overlong"),
        (b"\x81\x80\x00", "overlong"),
        (b"\xff" * 9 + b"\x02", "wider than 64"),
        (b"\xff" * 10 + b"\x01", "wider than 64"),
    ],
)
def test_bad_varints(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        wire.read_varint(data, 0)


def test_max_varint_is_accepted() -> None:
    data = b"\xff" * 9 + b"\x01"
    assert wire.read_varint(data, 0) == (2**64 - 1, 10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x08", "truncated"),  # key without value
        (b"\x0a\x05abc", "truncated"),  # length beyond the end
        (b"\x0d\x00\x00\x00\x00", "wire type 5"),  # fixed32
        (b"\x09" + bytes(8), "wire type 1"),  # fixed64
        (b"\x0b", "wire type 3"),  # start group
        (b"\x00\x01", "field number"),  # field 0
        (b"\x88\x80\x00\x01", "overlong"),  # overlong key
    ],
)
def test_bad_fields(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        list(wire.iter_fields(data))


def test_iter_fields() -> None:
    data = wire.varint_field(3, 150) + wire.bytes_field(4, b"hi") + wire.bytes_field(5, b"")
    fields = list(wire.iter_fields(data))
    assert [(f.number, f.wire_type, f.value) for f in fields] == [
        (3, 0, 150),
        (4, 2, b"hi"),
        (5, 2, b""),
    ]
    assert data.hex() == "189601" + "22026869" + "2a00"
