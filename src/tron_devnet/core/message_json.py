"""java-tron JSON form of the devnet's protobuf messages (hex bytes, enum names, zeros omitted),
and a whole broadcast transaction between JSON and bytes.

java-tron prints messages with its own JsonFormat: bytes as lowercase hex (``visible: false``),
integers as JSON numbers, enums by name, proto3 default values left out, and the
``google.protobuf.Any`` contract parameter expanded to ``{"value": {...}, "type_url": ...}``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError

from tron_devnet.core import proto
from tron_devnet.core.crypto import sha256


class JsonShapeError(ValueError):
    """A JSON transaction or contract value does not have java-tron's shape."""


class TxDecodeError(ValueError):
    """A transaction (hex or JSON) that cannot be parsed into a protocol.Transaction."""


def message_to_json(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        out[field.name] = _value_to_json(field, value)
    return out


def _scalar_to_json(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES:
        return bytes(value).hex()
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_json(value)
    return value


def _value_to_json(field: FieldDescriptor, value: Any) -> Any:
    if field.is_repeated:
        return [_scalar_to_json(field, v) for v in value]
    return _scalar_to_json(field, value)


def json_to_message(cls: Any, data: dict[str, Any]) -> Any:
    """Build a message of ``cls`` from java-tron JSON (hex bytes). Unknown keys are ignored."""
    if not isinstance(data, dict):
        raise JsonShapeError("expected a JSON object")
    msg = cls()
    fields = msg.DESCRIPTOR.fields_by_name
    for key, value in data.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        if field.is_repeated:
            if not isinstance(value, list):
                raise JsonShapeError(f"{key} must be a list")
            target = getattr(msg, key)
            for item in value:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    target.add().CopyFrom(json_to_message(_class_of(field), item))
                else:
                    target.append(_json_to_scalar(field, item))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(msg, key).CopyFrom(json_to_message(_class_of(field), value))
        else:
            setattr(msg, key, _json_to_scalar(field, value))
    return msg


def _class_of(field: FieldDescriptor) -> Any:
    return proto.message_class(field.message_type.name)


def _json_to_scalar(field: FieldDescriptor, value: Any) -> Any:
    try:
        if field.type == FieldDescriptor.TYPE_BYTES:
            if not isinstance(value, str):
                raise JsonShapeError(f"{field.name} must be a hex string")
            return bytes.fromhex(value)
        if field.type == FieldDescriptor.TYPE_ENUM:
            if isinstance(value, str):
                enum_value = field.enum_type.values_by_name.get(value)
                if enum_value is None:
                    raise JsonShapeError(f"{field.name}: unknown enum value {value}")
                return enum_value.number
            return int(value)
        if field.type == FieldDescriptor.TYPE_BOOL:
            if not isinstance(value, bool):
                raise JsonShapeError(f"{field.name} must be a boolean")
            return value
        if field.type == FieldDescriptor.TYPE_STRING:
            return str(value)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise JsonShapeError(f"{field.name} must be an integer")
        return int(value)
    except ValueError as exc:
        if isinstance(exc, JsonShapeError):
            raise
        raise JsonShapeError(f"{field.name}: {exc}") from exc


def contract_to_json(contract: Any) -> dict[str, Any]:
    type_name = proto.CONTRACT_NAMES.get(contract.type, str(contract.type))
    param = contract.parameter
    cls = proto.CONTRACT_CLASSES.get(type_name)
    value: dict[str, Any]
    if cls is not None:
        value = message_to_json(cls.FromString(param.value))
    else:
        value = {"raw": bytes(param.value).hex()}
    out: dict[str, Any] = {"parameter": {"value": value, "type_url": param.type_url}}
    out["type"] = type_name
    if contract.Permission_id:
        out["Permission_id"] = contract.Permission_id
    return out


def raw_to_json(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in raw.ListFields():
        if field.name == "contract":
            out["contract"] = [contract_to_json(c) for c in value]
        else:
            out[field.name] = _value_to_json(field, value)
    return out


def contract_from_json(data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise JsonShapeError("contract must be an object")
    type_name = data.get("type")
    if not isinstance(type_name, str) or type_name not in proto.CONTRACT_CLASSES:
        raise JsonShapeError(f"unsupported contract type {type_name!r}")
    param = data.get("parameter") or {}
    if not isinstance(param, dict):
        raise JsonShapeError("parameter must be an object")
    value = json_to_message(proto.CONTRACT_CLASSES[type_name], param.get("value") or {})
    contract = proto.Contract()
    contract.type = proto.CONTRACT_TYPES[type_name]
    contract.parameter.type_url = param.get("type_url") or proto.TYPE_URL_PREFIX + type_name
    contract.parameter.value = value.SerializeToString()
    if data.get("Permission_id"):
        contract.Permission_id = int(data["Permission_id"])
    return contract


def raw_from_json(data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise JsonShapeError("raw_data must be an object")
    plain = {k: v for k, v in data.items() if k != "contract"}
    raw = json_to_message(proto.TransactionRaw, plain)
    contracts = data.get("contract") or []
    if not isinstance(contracts, list):
        raise JsonShapeError("contract must be a list")
    for item in contracts:
        raw.contract.append(contract_from_json(item))
    return raw


def transaction_bytes(raw: Any, signatures_hex: list[Any]) -> bytes:
    """A serialized protocol.Transaction of a TransactionRaw message and hex signatures."""
    message = proto.Transaction()
    message.raw_data.CopyFrom(raw)
    for sig in signatures_hex:
        message.signature.append(bytes.fromhex(sig))
    data: bytes = message.SerializeToString()
    return data


def encode_transaction_json(tx: dict[str, Any]) -> bytes:
    """A broadcasttransaction body (hex addresses) serialized as protocol.Transaction bytes.

    The txID in the body is ignored: the node recomputes it from the re-encoded raw_data.
    """
    raw_json = tx.get("raw_data")
    if not isinstance(raw_json, dict):
        raise TxDecodeError("raw_data is required")
    signatures = tx.get("signature") or []
    if not isinstance(signatures, list) or not all(isinstance(s, str) for s in signatures):
        raise TxDecodeError("signature must be a list of hex strings")
    try:
        return transaction_bytes(raw_from_json(raw_json), signatures)
    except (ValueError, TypeError, KeyError) as exc:
        raise TxDecodeError(f"invalid transaction: {exc}") from None


def decode_transaction(tx_bytes: bytes) -> dict[str, Any]:
    """Serialized protocol.Transaction to java-tron JSON (hex addresses) with txID and
    raw_data_hex."""
    try:
        message = proto.Transaction.FromString(tx_bytes)
        raw_bytes: bytes = message.raw_data.SerializeToString()
        raw_json = raw_to_json(message.raw_data)
    except (DecodeError, ValueError, TypeError, KeyError) as exc:
        raise TxDecodeError(f"invalid transaction bytes: {exc}") from None
    out: dict[str, Any] = {}
    if message.signature:
        out["signature"] = [bytes(s).hex() for s in message.signature]
    out["txID"] = sha256(raw_bytes).hex()
    out["raw_data"] = raw_json
    out["raw_data_hex"] = raw_bytes.hex()
    return out
