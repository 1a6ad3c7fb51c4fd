"""An independent oracle: the official protobuf runtime with message classes built at test
time from descriptors written here (field numbers from java-tron's .proto files)."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

_T = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "bytes": _T.TYPE_BYTES,
    "int64": _T.TYPE_INT64,
    "int32": _T.TYPE_INT32,
    "bool": _T.TYPE_BOOL,
    "string": _T.TYPE_STRING,
}
_PACKAGE = "oracle"

# name -> [(field name, number, type, repeated)]; a type not in _SCALARS is a message/enum name
_MESSAGES: dict[str, list[tuple[str, int, str, bool]]] = {
    "Any": [("type_url", 1, "string", False), ("value", 2, "bytes", False)],
    "TransferContract": [
        ("owner_address", 1, "bytes", False),
        ("to_address", 2, "bytes", False),
        ("amount", 3, "int64", False),
    ],
    "TriggerSmartContract": [
        ("owner_address", 1, "bytes", False),
        ("contract_address", 2, "bytes", False),
        ("call_value", 3, "int64", False),
        ("data", 4, "bytes", False),
        ("call_token_value", 5, "int64", False),
        ("token_id", 6, "int64", False),
    ],
    "FreezeBalanceV2Contract": [
        ("owner_address", 1, "bytes", False),
        ("frozen_balance", 2, "int64", False),
        ("resource", 3, "ResourceCode", False),
    ],
    "UnfreezeBalanceV2Contract": [
        ("owner_address", 1, "bytes", False),
        ("unfreeze_balance", 2, "int64", False),
        ("resource", 3, "ResourceCode", False),
    ],
    "WithdrawExpireUnfreezeContract": [("owner_address", 1, "bytes", False)],
    "CancelAllUnfreezeV2Contract": [("owner_address", 1, "bytes", False)],
    "DelegateResourceContract": [
        ("owner_address", 1, "bytes", False),
        ("resource", 2, "ResourceCode", False),
        ("balance", 3, "int64", False),
        ("receiver_address", 4, "bytes", False),
        ("lock", 5, "bool", False),
        ("lock_period", 6, "int64", False),
    ],
    "UnDelegateResourceContract": [
        ("owner_address", 1, "bytes", False),
        ("resource", 2, "ResourceCode", False),
        ("balance", 3, "int64", False),
        ("receiver_address", 4, "bytes", False),
    ],
    "Contract": [
        ("type", 1, "ContractType", False),
        ("parameter", 2, "Any", False),
        ("Permission_id", 5, "int32", False),
    ],
    "Raw": [
        ("ref_block_bytes", 1, "bytes", False),
        ("ref_block_num", 3, "int64", False),
        ("ref_block_hash", 4, "bytes", False),
        ("expiration", 8, "int64", False),
        ("data", 10, "bytes", False),
        ("contract", 11, "Contract", True),
        ("timestamp", 14, "int64", False),
        ("fee_limit", 18, "int64", False),
    ],
    "Transaction": [("raw_data", 1, "Raw", False), ("signature", 2, "bytes", True)],
}
_ENUMS = {
    "ResourceCode": {"BANDWIDTH": 0, "ENERGY": 1, "TRON_POWER": 2},
    "ContractType": {
        "AccountCreateContract": 0,
        "TransferContract": 1,
        "TriggerSmartContract": 31,
        "FreezeBalanceV2Contract": 54,
        "UnfreezeBalanceV2Contract": 55,
        "WithdrawExpireUnfreezeContract": 56,
        "DelegateResourceContract": 57,
        "UnDelegateResourceContract": 58,
        "CancelAllUnfreezeV2Contract": 59,
    },
}


def _build_classes() -> dict[str, type[Message]]:
    file = descriptor_pb2.FileDescriptorProto(
        name="tronpay_oracle.proto", package=_PACKAGE, syntax="proto3"
    )
    for enum_name, values in _ENUMS.items():
        enum = file.enum_type.add(name=enum_name)
        for value_name, number in values.items():
            enum.value.add(name=f"{enum_name}_{value_name}", number=number)
    for message_name, fields in _MESSAGES.items():
        message = file.message_type.add(name=message_name)
        for field_name, number, type_name, repeated in fields:
            field = message.field.add(name=field_name, number=number)
            field.label = _T.LABEL_REPEATED if repeated else _T.LABEL_OPTIONAL
            if type_name in _SCALARS:
                field.type = _SCALARS[type_name]
            elif type_name in _ENUMS:
                field.type = _T.TYPE_ENUM
                field.type_name = f".{_PACKAGE}.{type_name}"
            else:
                field.type = _T.TYPE_MESSAGE
                field.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _MESSAGES
    }


CLASSES = _build_classes()
_ADDRESS_OR_BYTES = {"bytes"}


def _fill(message: Message, name: str, values: dict[str, Any]) -> None:
    types = {field: type_name for field, _, type_name, _ in _MESSAGES[name]}
    for key, value in values.items():
        type_name = types[key]
        if type_name == "bytes":
            setattr(message, key, bytes.fromhex(value))
        elif type_name in _ENUMS:
            setattr(message, key, _ENUMS[type_name][value])
        else:
            setattr(message, key, value)


def serialize_raw_data(raw_data: dict[str, Any]) -> bytes:
    """Serialize a java-tron JSON raw_data with the official protobuf runtime."""
    raw = CLASSES["Raw"]()
    _fill(raw, "Raw", {k: v for k, v in raw_data.items() if k != "contract"})
    for contract_json in raw_data["contract"]:
        name = contract_json["type"]
        value = CLASSES[name]()
        _fill(value, name, contract_json["parameter"]["value"])
        contract = raw.contract.add()
        contract.type = _ENUMS["ContractType"][name]
        contract.parameter.type_url = contract_json["parameter"]["type_url"]
        contract.parameter.value = value.SerializeToString(deterministic=True)
        if "Permission_id" in contract_json:
            contract.Permission_id = contract_json["Permission_id"]
    return raw.SerializeToString(deterministic=True)


def parse_transaction(data: bytes) -> tuple[bytes, list[bytes]]:
    """Parse a serialized Transaction with the official runtime: (raw bytes, signatures)."""
    tx = CLASSES["Transaction"]()
    tx.ParseFromString(data)
    return tx.raw_data.SerializeToString(deterministic=True), list(tx.signature)
