"""Declarative message schemas and a strict codec between java-tron JSON values and protobuf.

A :class:`MessageSpec` lists the fields of one message. Scalars convert between their JSON
form (java-tron style: bytes as lower-case hex, enums by name, int64 as int) and the wire.
``MESSAGE`` fields pass through as already-encoded bytes; the caller encodes the sub-message.

Canonical form only: fields in number order, default values omitted, each singular field at
most once. Decoding anything else raises :class:`DecodeError`, so for every accepted input
``encode(decode(b)) == b`` and a transaction id always means one byte string.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tronpay.tron.address import ADDRESS_LENGTH, ADDRESS_PREFIX, decode_hex
from tronpay.tron.errors import DecodeError, EncodeError, InvalidAddressError
from tronpay.tron.protobuf import (
    INT64_MAX,
    INT64_MIN,
    WIRE_LEN,
    WIRE_VARINT,
    as_int64,
    bytes_field,
    iter_fields,
    varint_field,
)

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class Kind(enum.Enum):
    INT64 = "int64"
    BOOL = "bool"
    ENUM = "enum"
    ADDRESS = "address"
    BYTES = "bytes"
    STRING = "string"
    MESSAGE = "message"


_WIRE_OF = {
    Kind.INT64: WIRE_VARINT,
    Kind.BOOL: WIRE_VARINT,
    Kind.ENUM: WIRE_VARINT,
    Kind.ADDRESS: WIRE_LEN,
    Kind.BYTES: WIRE_LEN,
    Kind.STRING: WIRE_LEN,
    Kind.MESSAGE: WIRE_LEN,
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    number: int
    name: str
    kind: Kind
    repeated: bool = False
    enum_values: Mapping[str, int] = field(default_factory=dict)
    size: int | None = None  # exact byte length for BYTES
    minimum: int = INT64_MIN
    maximum: int = INT64_MAX

    @property
    def wire_type(self) -> int:
        return _WIRE_OF[self.kind]


@dataclass(frozen=True, slots=True)
class MessageSpec:
    name: str
    fields: tuple[FieldSpec, ...]

    def __post_init__(self) -> None:
        numbers = [f.number for f in self.fields]
        if numbers != sorted(set(numbers)):
            raise ValueError(f"{self.name}: fields must be listed in strictly increasing order")

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def by_number(self, number: int) -> FieldSpec | None:
        for spec in self.fields:
            if spec.number == number:
                return spec
        return None


# ---------------------------------------------------------------- encoding (JSON -> wire)


def check_object(value: object, what: str) -> Mapping[str, Any]:
    """``value`` must be a JSON object (dict with str keys)."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise EncodeError(f"{what} must be a JSON object")
    return value


def check_keys(obj: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise EncodeError(f"{what}: unsupported field(s) {', '.join(unknown)}")


def encode_message(spec: MessageSpec, values: Mapping[str, Any]) -> bytes:
    """Encode ``values`` (JSON forms; MESSAGE fields as bytes) in canonical order."""
    check_keys(values, spec.names, spec.name)
    out = bytearray()
    for fspec in spec.fields:
        value = values.get(fspec.name)
        if value is None:
            continue
        if fspec.repeated:
            if not isinstance(value, list):
                raise EncodeError(f"{spec.name}.{fspec.name} must be a list")
            for item in value:
                out += _encode_scalar(spec, fspec, item, skip_default=False)
        else:
            out += _encode_scalar(spec, fspec, value, skip_default=True)
    return bytes(out)


def _encode_scalar(
    spec: MessageSpec, fspec: FieldSpec, value: object, *, skip_default: bool
) -> bytes:
    where = f"{spec.name}.{fspec.name}"
    kind = fspec.kind
    if kind is Kind.INT64:
        if not isinstance(value, int) or isinstance(value, bool):
            raise EncodeError(f"{where} must be an integer")
        if not fspec.minimum <= value <= fspec.maximum:
            raise EncodeError(f"{where} is out of range [{fspec.minimum}, {fspec.maximum}]")
        return b"" if value == 0 and skip_default else varint_field(fspec.number, value)
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise EncodeError(f"{where} must be true or false")
        return b"" if not value and skip_default else varint_field(fspec.number, int(value))
    if kind is Kind.ENUM:
        if not isinstance(value, str) or value not in fspec.enum_values:
            allowed = ", ".join(fspec.enum_values)
            raise EncodeError(f"{where} must be one of {allowed}")
        number = fspec.enum_values[value]
        return b"" if number == 0 and skip_default else varint_field(fspec.number, number)
    if kind is Kind.STRING:
        if not isinstance(value, str):
            raise EncodeError(f"{where} must be a string")
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodeError(f"{where} is not valid Unicode") from None
    elif kind is Kind.MESSAGE:
        if not isinstance(value, bytes):
            raise EncodeError(f"{where} must be an encoded message")
        return bytes_field(fspec.number, value)  # sub-messages are emitted even when empty
    elif kind is Kind.ADDRESS:
        if not isinstance(value, str):
            raise EncodeError(f"{where} must be a hex address string")
        try:
            data = decode_hex(value)
        except InvalidAddressError as exc:
            raise EncodeError(f"{where}: {exc.detail} (expected 41... hex)") from None
    else:
        data = _hex_bytes(where, value)
        if fspec.size is not None and len(data) != fspec.size:
            raise EncodeError(f"{where} must be exactly {fspec.size} bytes")
    return b"" if not data and skip_default else bytes_field(fspec.number, data)


def _hex_bytes(where: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{where} must be a hex string")
    if len(value) % 2 or not _HEX_DIGITS.issuperset(value):
        raise EncodeError(f"{where} is not valid hex (even number of 0-9a-f digits)")
    return bytes.fromhex(value)


# ---------------------------------------------------------------- decoding (wire -> JSON)


def decode_message(spec: MessageSpec, data: bytes) -> dict[str, Any]:
    """Decode one canonical message into its JSON form (MESSAGE fields stay bytes)."""
    result: dict[str, Any] = {}
    last_number = 0
    for wire in iter_fields(data):
        fspec = spec.by_number(wire.number)
        if fspec is None:
            raise DecodeError(f"{spec.name}: unknown or unsupported field {wire.number}")
        if wire.wire_type != fspec.wire_type:
            raise DecodeError(f"{spec.name}.{fspec.name}: wrong wire type {wire.wire_type}")
        if wire.number < last_number or (wire.number == last_number and not fspec.repeated):
            raise DecodeError(f"{spec.name}.{fspec.name}: field out of order or repeated")
        last_number = wire.number
        value = _decode_scalar(spec, fspec, wire.value, in_list=fspec.repeated)
        if fspec.repeated:
            result.setdefault(fspec.name, []).append(value)
        else:
            result[fspec.name] = value
    return result


def _decode_scalar(spec: MessageSpec, fspec: FieldSpec, raw: int | bytes, *, in_list: bool) -> Any:
    where = f"{spec.name}.{fspec.name}"
    if isinstance(raw, int):
        if raw == 0 and not in_list:
            raise DecodeError(f"{where}: default value must be omitted")
        if fspec.kind is Kind.INT64:
            value = as_int64(raw)
            if not fspec.minimum <= value <= fspec.maximum:
                raise DecodeError(f"{where}: value out of range")
            return value
        if fspec.kind is Kind.BOOL:
            if raw != 1:
                raise DecodeError(f"{where}: bool must be 0 or 1")
            return True
        for name, number in fspec.enum_values.items():
            if number == raw:
                return name
        raise DecodeError(f"{where}: unknown enum value {raw}")
    if fspec.kind is Kind.MESSAGE:
        return raw
    if not raw and not in_list:
        raise DecodeError(f"{where}: default value must be omitted")
    if fspec.kind is Kind.STRING:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"{where}: invalid UTF-8") from None
    if fspec.kind is Kind.ADDRESS:
        if len(raw) != ADDRESS_LENGTH or raw[0] != ADDRESS_PREFIX:
            raise DecodeError(f"{where}: not a 21-byte 0x41 TRON address")
    elif fspec.size is not None and len(raw) != fspec.size:
        raise DecodeError(f"{where}: must be exactly {fspec.size} bytes")
    return raw.hex()
