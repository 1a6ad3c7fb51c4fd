"""A small, strict protobuf wire codec: varints (wire type 0) and length-delimited fields
(wire type 2), the only two wire types TRON transactions use.

Encoding follows proto3 canonical form: callers emit fields in number order and skip default
values. Decoding is strict: it rejects truncated input, overlong or non-minimal varints,
varints wider than 64 bits, field number 0 and any other wire type, always with
:class:`DecodeError` and never another exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tronpay.tron.errors import DecodeError

WIRE_VARINT = 0
WIRE_LEN = 2

UINT64_MAX = (1 << 64) - 1
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_MAX_VARINT_BYTES = 10
_MAX_FIELD_NUMBER = (1 << 29) - 1


def encode_varint(value: int) -> bytes:
    """Base-128 varint of an unsigned 64-bit value."""
    if not 0 <= value <= UINT64_MAX:
        raise ValueError("varint out of the unsigned 64-bit range")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_int64(value: int) -> bytes:
    """Varint of a signed int64 (negative values take ten bytes, two's complement)."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("value out of the int64 range")
    return encode_varint(value & UINT64_MAX)


def as_int64(value: int) -> int:
    """Reinterpret a decoded 64-bit varint as a signed int64."""
    return value - (1 << 64) if value > INT64_MAX else value


def field_key(number: int, wire_type: int) -> bytes:
    return encode_varint((number << 3) | wire_type)


def varint_field(number: int, value: int) -> bytes:
    """A varint field holding an int64 (or enum/bool) value."""
    return field_key(number, WIRE_VARINT) + encode_int64(value)


def bytes_field(number: int, value: bytes) -> bytes:
    """A length-delimited field."""
    return field_key(number, WIRE_LEN) + encode_varint(len(value)) + value


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode one minimal varint at ``pos``; return (value, next position)."""
    value = 0
    shift = 0
    for index in range(_MAX_VARINT_BYTES):
        at = pos + index
        if at >= len(data):
            raise DecodeError("truncated varint")
        byte = data[at]
        if index == _MAX_VARINT_BYTES - 1 and byte > 1:
            raise DecodeError("varint wider than 64 bits")
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and index > 0:
                raise DecodeError("non-minimal (overlong) varint")
            return value, at + 1
        shift += 7
    raise DecodeError("varint longer than 10 bytes")


@dataclass(frozen=True, slots=True)
class WireField:
    """One decoded field: its number, wire type and value (int for varints, bytes otherwise)."""

    number: int
    wire_type: int
    value: int | bytes


def iter_fields(data: bytes) -> Iterator[WireField]:
    """Walk the top-level fields of one message."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 0x07
        if number == 0 or number > _MAX_FIELD_NUMBER:
            raise DecodeError("invalid field number")
        if wire_type == WIRE_VARINT:
            value, pos = read_varint(data, pos)
            yield WireField(number, wire_type, value)
        elif wire_type == WIRE_LEN:
            length, pos = read_varint(data, pos)
            if length > end - pos:
                raise DecodeError("truncated length-delimited field")
            yield WireField(number, wire_type, data[pos : pos + length])
            pos += length
        else:
            raise DecodeError(f"unsupported wire type {wire_type} (field {number})")
