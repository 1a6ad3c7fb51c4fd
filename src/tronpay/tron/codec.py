"""java-tron JSON ``raw_data`` <-> protobuf ``Transaction.raw`` bytes, the signed
``Transaction`` envelope, and the transaction id.

Supported: exactly one contract per transaction, of a type in :mod:`tronpay.tron.contracts`,
plus the memo (``data``), ``fee_limit`` and an optional ``Permission_id``. ``auths``,
``scripts``, ``provider``, ``ContractName`` and ``ret`` are not supported and are rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tronpay.tron.contracts import BY_NAME, CONTRACT_TYPES
from tronpay.tron.errors import DecodeError, EncodeError
from tronpay.tron.hashing import sha256
from tronpay.tron.protobuf import WIRE_LEN, bytes_field, iter_fields
from tronpay.tron.schema import (
    FieldSpec,
    Kind,
    MessageSpec,
    check_keys,
    check_object,
    decode_message,
    encode_message,
)

MAX_TRANSACTION_SIZE = 500 * 1024  # java-tron's limit for a serialized transaction
SIGNATURE_LENGTH = 65
REF_BLOCK_BYTES_LENGTH = 2
REF_BLOCK_HASH_LENGTH = 8

RAW = MessageSpec(
    "Transaction.raw",
    (
        FieldSpec(1, "ref_block_bytes", Kind.BYTES, size=REF_BLOCK_BYTES_LENGTH),
        FieldSpec(3, "ref_block_num", Kind.INT64),
        FieldSpec(4, "ref_block_hash", Kind.BYTES, size=REF_BLOCK_HASH_LENGTH),
        FieldSpec(8, "expiration", Kind.INT64),
        FieldSpec(10, "data", Kind.BYTES),
        FieldSpec(11, "contract", Kind.MESSAGE, repeated=True),
        FieldSpec(14, "timestamp", Kind.INT64),
        FieldSpec(18, "fee_limit", Kind.INT64),
    ),
)
CONTRACT = MessageSpec(
    "Transaction.Contract",
    (
        FieldSpec(1, "type", Kind.ENUM, enum_values=CONTRACT_TYPES),
        FieldSpec(2, "parameter", Kind.MESSAGE),
        FieldSpec(5, "Permission_id", Kind.INT64, minimum=0, maximum=(1 << 31) - 1),
    ),
)
ANY = MessageSpec(
    "google.protobuf.Any",
    (FieldSpec(1, "type_url", Kind.STRING), FieldSpec(2, "value", Kind.MESSAGE)),
)
_PARAMETER_KEYS = frozenset({"type_url", "value"})


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A decoded ``Transaction`` envelope: the raw_data bytes and the signatures."""

    raw: bytes
    signatures: list[bytes]

    @property
    def txid(self) -> bytes:
        return txid(self.raw)


def txid(raw: bytes) -> bytes:
    """The transaction id: sha256 of the serialized ``Transaction.raw``."""
    return sha256(raw)


# ---------------------------------------------------------------- raw_data


def encode_raw_data(raw_data: Mapping[str, Any]) -> bytes:
    """Serialize a java-tron JSON ``raw_data`` (hex addresses) to ``Transaction.raw`` bytes."""
    obj = check_object(raw_data, "raw_data")
    check_keys(obj, RAW.names, "raw_data")
    contracts = obj.get("contract")
    if not isinstance(contracts, list) or len(contracts) != 1:
        raise EncodeError("raw_data.contract must be a list holding exactly one contract")
    values = dict(obj)
    values["contract"] = [_encode_contract(contracts[0])]
    raw = encode_message(RAW, values)
    if len(raw) > MAX_TRANSACTION_SIZE:
        raise EncodeError("transaction exceeds the 500 KiB limit")
    return raw


def _encode_contract(contract: object) -> bytes:
    obj = check_object(contract, "contract")
    check_keys(obj, CONTRACT.names, "contract")
    type_name = obj.get("type")
    kind = BY_NAME.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        raise EncodeError(f"unsupported contract type {type_name!r}")
    parameter = check_object(obj.get("parameter"), "contract.parameter")
    check_keys(parameter, _PARAMETER_KEYS, "contract.parameter")
    type_url = parameter.get("type_url", kind.type_url)
    if type_url != kind.type_url:
        raise EncodeError(f"contract.parameter.type_url must be {kind.type_url}")
    value = encode_message(kind.spec, check_object(parameter.get("value"), "parameter.value"))
    any_values: dict[str, Any] = {"type_url": type_url}
    if value:  # Any.value is proto3 bytes: omitted when empty
        any_values["value"] = value
    return encode_message(
        CONTRACT,
        {
            "type": kind.name,
            "parameter": encode_message(ANY, any_values),
            "Permission_id": obj.get("Permission_id"),
        },
    )


def decode_raw_data(raw: bytes) -> dict[str, Any]:
    """Parse ``Transaction.raw`` bytes into java-tron JSON (hex addresses, defaults omitted).

    Raises :class:`DecodeError` for anything malformed, non-canonical or unsupported.
    """
    if not isinstance(raw, bytes):
        raise DecodeError("raw_data must be bytes")
    if len(raw) > MAX_TRANSACTION_SIZE:
        raise DecodeError("transaction exceeds the 500 KiB limit")
    result = decode_message(RAW, raw)
    contracts = result.get("contract", [])
    if len(contracts) != 1:
        raise DecodeError("a transaction must hold exactly one contract")
    result["contract"] = [_decode_contract(contracts[0])]
    return result


def _decode_contract(data: bytes) -> dict[str, Any]:
    fields = decode_message(CONTRACT, data)
    if "type" not in fields or "parameter" not in fields:
        raise DecodeError("contract without type or parameter")
    kind = BY_NAME[fields["type"]]
    parameter = decode_message(ANY, fields["parameter"])
    if parameter.get("type_url") != kind.type_url:
        raise DecodeError(f"contract type_url does not match {kind.name}")
    value_bytes = parameter.get("value", b"")
    if "value" in parameter and not value_bytes:
        raise DecodeError("google.protobuf.Any.value: default value must be omitted")
    contract: dict[str, Any] = {
        "parameter": {"value": decode_message(kind.spec, value_bytes), "type_url": kind.type_url},
        "type": kind.name,
    }
    if "Permission_id" in fields:
        contract["Permission_id"] = fields["Permission_id"]
    return contract


# ---------------------------------------------------------------- Transaction envelope


def encode_transaction(raw: bytes, signatures: list[bytes]) -> bytes:
    """The serialized ``Transaction`` (raw_data=1, signature=2 repeated): what
    ``/wallet/broadcasthex`` takes."""
    if not raw:
        raise EncodeError("raw_data is empty")
    out = bytearray(bytes_field(1, raw))
    for signature in signatures:
        if len(signature) != SIGNATURE_LENGTH:
            raise EncodeError("a signature must be 65 bytes (r || s || v)")
        out += bytes_field(2, signature)
    if len(out) > MAX_TRANSACTION_SIZE:
        raise EncodeError("transaction exceeds the 500 KiB limit")
    return bytes(out)


def decode_transaction(data: bytes) -> SignedTransaction:
    """Parse a serialized ``Transaction``; the raw_data must itself be supported."""
    if not isinstance(data, bytes):
        raise DecodeError("transaction must be bytes")
    if len(data) > MAX_TRANSACTION_SIZE:
        raise DecodeError("transaction exceeds the 500 KiB limit")
    raw: bytes | None = None
    signatures: list[bytes] = []
    for wire in iter_fields(data):
        if wire.wire_type != WIRE_LEN or not isinstance(wire.value, bytes):
            raise DecodeError(f"Transaction: wrong wire type for field {wire.number}")
        if wire.number == 1 and raw is None and not signatures:
            raw = wire.value
        elif wire.number == 2 and raw is not None:
            if len(wire.value) != SIGNATURE_LENGTH:
                raise DecodeError("Transaction.signature must be 65 bytes")
            signatures.append(wire.value)
        else:
            raise DecodeError(f"Transaction: unexpected field {wire.number}")
    if not raw:
        raise DecodeError("Transaction without raw_data")
    decode_raw_data(raw)
    return SignedTransaction(raw=raw, signatures=signatures)
