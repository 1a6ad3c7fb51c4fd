"""The protobuf wire format by hand: varints, field keys, length-delimited fields.

The devnet's messages go through google.protobuf (``proto``); this is for code that must read or
write bytes without it: the fault injector peeking into a broadcast, and tests and benchmarks
that build transactions independently of the devnet's message definitions. The decoder is
lenient like protobuf's (it skips 64-bit and 32-bit fields); it raises ``WireError`` on
truncated input, a varint longer than 64 bits and the group wire types.
"""

from __future__ import annotations

from dataclasses import dataclass

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_FIXED32 = 5
UINT64_LIMIT = 1 << 64
INT64_MIN = -(1 << 63)


class WireError(ValueError):
    """Bytes that are not a protobuf message."""


def encode_varint(value: int) -> bytes:
    """Base-128 varint; a negative int64 is written as its 64-bit two's complement (10 bytes)."""
    if not INT64_MIN <= value < UINT64_LIMIT:
        raise ValueError("varint out of the int64/uint64 range")
    if value < 0:
        value += UINT64_LIMIT
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_key(number: int, wire_type: int) -> bytes:
    return encode_varint(number << 3 | wire_type)


def varint_field(number: int, value: int) -> bytes:
    """A varint field (int64, uint64, enum or bool), written even when it is zero."""
    return field_key(number, WIRE_VARINT) + encode_varint(value)


def bytes_field(number: int, value: bytes) -> bytes:
    """A length-delimited field (bytes, string or a nested message), written even when empty."""
    return field_key(number, WIRE_LEN) + encode_varint(len(value)) + value


@dataclass(frozen=True, slots=True)
class Varint:
    value: int
    end: int  # the position after the varint


def read_varint(data: bytes, pos: int) -> Varint:
    """The varint starting at ``pos``."""
    result = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return Varint(result, pos)
        shift += 7


@dataclass(frozen=True, slots=True)
class WireField:
    """One top-level field: its number and value (int for varints, bytes when length-delimited;
    fixed-width fields are skipped)."""

    number: int
    value: int | bytes


def fields(data: bytes) -> list[WireField]:
    """The varint and length-delimited fields of a message, in order."""
    out: list[WireField] = []
    pos = 0
    while pos < len(data):
        key = read_varint(data, pos)
        number, wire_type, pos = key.value >> 3, key.value & 7, key.end
        if wire_type == WIRE_VARINT:
            value = read_varint(data, pos)
            out.append(WireField(number, value.value))
            pos = value.end
        elif wire_type == WIRE_LEN:
            size = read_varint(data, pos)
            end = size.end + size.value
            if end > len(data):
                raise WireError("truncated field")
            out.append(WireField(number, data[size.end : end]))
            pos = end
        elif wire_type == WIRE_FIXED64:
            pos += 8
        elif wire_type == WIRE_FIXED32:
            pos += 4
        else:
            raise WireError("unsupported wire type")
    return out


def bytes_values(data: bytes, number: int) -> list[bytes]:
    """Every length-delimited value of field ``number``."""
    return [f.value for f in fields(data) if f.number == number and isinstance(f.value, bytes)]


def varint_values(data: bytes, number: int) -> list[int]:
    """Every varint value of field ``number``."""
    return [f.value for f in fields(data) if f.number == number and isinstance(f.value, int)]
