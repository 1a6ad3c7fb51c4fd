"""java-tron protobuf messages the devnet needs, defined here and built at import time.

The descriptors live in a private DescriptorPool (package "protocol", like java-tron's
Tron.proto/contract protos), so they never clash with other protobuf users in the process.
Only the fields the devnet reads are declared; unknown fields survive a parse/serialize round
trip, as in java-tron.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPT = _F.LABEL_OPTIONAL
_REP = _F.LABEL_REPEATED

# field spec: (name, number, type, label, type_name)
_FieldSpec = tuple[str, int, int, int, str]

CONTRACT_TYPES: dict[str, int] = {
    "AccountCreateContract": 0,
    "TransferContract": 1,
    "TransferAssetContract": 2,
    "VoteWitnessContract": 4,
    "FreezeBalanceContract": 11,
    "UnfreezeBalanceContract": 12,
    "TriggerSmartContract": 31,
    "FreezeBalanceV2Contract": 54,
    "UnfreezeBalanceV2Contract": 55,
    "WithdrawExpireUnfreezeContract": 56,
    "DelegateResourceContract": 57,
    "UnDelegateResourceContract": 58,
    "CancelAllUnfreezeV2Contract": 59,
}
CONTRACT_NAMES: dict[int, str] = {v: k for k, v in CONTRACT_TYPES.items()}

RESOURCE_CODES: dict[str, int] = {"BANDWIDTH": 0, "ENERGY": 1, "TRON_POWER": 2}
CONTRACT_RESULTS: list[str] = [
    "DEFAULT",
    "SUCCESS",
    "REVERT",
    "BAD_JUMP_DESTINATION",
    "OUT_OF_MEMORY",
    "PRECOMPILED_CONTRACT",
    "STACK_TOO_SMALL",
    "STACK_TOO_LARGE",
    "ILLEGAL_OPERATION",
    "STACK_OVERFLOW",
    "OUT_OF_ENERGY",
    "OUT_OF_TIME",
    "JVM_STACK_OVER_FLOW",
    "UNKNOWN",
    "TRANSFER_FAILED",
    "INVALID_CODE",
]


def _f(name: str, number: int, ftype: int, label: int = _OPT, type_name: str = "") -> _FieldSpec:
    return (name, number, ftype, label, type_name)


_BYTES = _F.TYPE_BYTES
_INT64 = _F.TYPE_INT64
_INT32 = _F.TYPE_INT32
_STRING = _F.TYPE_STRING
_BOOL = _F.TYPE_BOOL
_MSG = _F.TYPE_MESSAGE
_ENUM = _F.TYPE_ENUM

_MESSAGES: dict[str, list[_FieldSpec]] = {
    "Any": [_f("type_url", 1, _STRING), _f("value", 2, _BYTES)],
    "TransferContract": [
        _f("owner_address", 1, _BYTES),
        _f("to_address", 2, _BYTES),
        _f("amount", 3, _INT64),
    ],
    "TriggerSmartContract": [
        _f("owner_address", 1, _BYTES),
        _f("contract_address", 2, _BYTES),
        _f("call_value", 3, _INT64),
        _f("data", 4, _BYTES),
        _f("call_token_value", 5, _INT64),
        _f("token_id", 6, _INT64),
    ],
    "FreezeBalanceV2Contract": [
        _f("owner_address", 1, _BYTES),
        _f("frozen_balance", 2, _INT64),
        _f("resource", 3, _ENUM, _OPT, ".protocol.ResourceCode"),
    ],
    "UnfreezeBalanceV2Contract": [
        _f("owner_address", 1, _BYTES),
        _f("unfreeze_balance", 2, _INT64),
        _f("resource", 3, _ENUM, _OPT, ".protocol.ResourceCode"),
    ],
    "WithdrawExpireUnfreezeContract": [_f("owner_address", 1, _BYTES)],
    "CancelAllUnfreezeV2Contract": [_f("owner_address", 1, _BYTES)],
    "DelegateResourceContract": [
        _f("owner_address", 1, _BYTES),
        _f("resource", 2, _ENUM, _OPT, ".protocol.ResourceCode"),
        _f("balance", 3, _INT64),
        _f("receiver_address", 4, _BYTES),
        _f("lock", 5, _BOOL),
        _f("lock_period", 6, _INT64),
    ],
    "UnDelegateResourceContract": [
        _f("owner_address", 1, _BYTES),
        _f("resource", 2, _ENUM, _OPT, ".protocol.ResourceCode"),
        _f("balance", 3, _INT64),
        _f("receiver_address", 4, _BYTES),
    ],
    "Contract": [
        _f("type", 1, _ENUM, _OPT, ".protocol.Contract.ContractType"),
        _f("parameter", 2, _MSG, _OPT, ".protocol.Any"),
        _f("provider", 3, _BYTES),
        _f("ContractName", 4, _BYTES),
        _f("Permission_id", 5, _INT32),
    ],
    "Result": [
        _f("fee", 1, _INT64),
        _f("ret", 2, _INT32),
        _f("contractRet", 3, _ENUM, _OPT, ".protocol.Result.ContractResult"),
    ],
    "TransactionRaw": [
        _f("ref_block_bytes", 1, _BYTES),
        _f("ref_block_num", 3, _INT64),
        _f("ref_block_hash", 4, _BYTES),
        _f("expiration", 8, _INT64),
        _f("data", 10, _BYTES),
        _f("contract", 11, _MSG, _REP, ".protocol.Contract"),
        _f("scripts", 12, _BYTES),
        _f("timestamp", 14, _INT64),
        _f("fee_limit", 18, _INT64),
    ],
    "Transaction": [
        _f("raw_data", 1, _MSG, _OPT, ".protocol.TransactionRaw"),
        _f("signature", 2, _BYTES, _REP),
        _f("ret", 5, _MSG, _REP, ".protocol.Result"),
    ],
    "BlockHeaderRaw": [
        _f("timestamp", 1, _INT64),
        _f("txTrieRoot", 2, _BYTES),
        _f("parentHash", 3, _BYTES),
        _f("number", 7, _INT64),
        _f("witness_id", 8, _INT64),
        _f("witness_address", 9, _BYTES),
        _f("version", 10, _INT32),
        _f("accountStateRoot", 11, _BYTES),
    ],
}

_ENUMS: dict[str, dict[str, int]] = {"ResourceCode": RESOURCE_CODES}
# enums nested in a message (enum values are scoped like siblings of their enum in protobuf)
_NESTED_ENUMS: dict[str, tuple[str, dict[str, int]]] = {
    "Contract": ("ContractType", CONTRACT_TYPES),
    "Result": ("ContractResult", {name: i for i, name in enumerate(CONTRACT_RESULTS)}),
}


def _add_enum(enum: Any, name: str, values: dict[str, int]) -> None:
    enum.name = name
    for vname, vnum in sorted(values.items(), key=lambda kv: kv[1]):
        val = enum.value.add()
        val.name = vname
        val.number = vnum


def _build_pool() -> descriptor_pool.DescriptorPool:
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "tron_devnet/protocol.proto"
    fdp.package = "protocol"
    fdp.syntax = "proto3"
    for ename, values in _ENUMS.items():
        _add_enum(fdp.enum_type.add(), ename, values)
    for mname, fields in _MESSAGES.items():
        msg = fdp.message_type.add()
        msg.name = mname
        if mname in _NESTED_ENUMS:
            ename, values = _NESTED_ENUMS[mname]
            _add_enum(msg.enum_type.add(), ename, values)
        for name, number, ftype, label, type_name in fields:
            fld = msg.field.add()
            fld.name = name
            fld.number = number
            fld.type = ftype
            fld.label = label
            if type_name:
                fld.type_name = type_name
            fld.json_name = name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return pool


POOL = _build_pool()


def message_class(name: str) -> Any:
    """The generated message class for ``protocol.<name>``."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"protocol.{name}"))


Transaction: Any = message_class("Transaction")
TransactionRaw: Any = message_class("TransactionRaw")
Contract: Any = message_class("Contract")
AnyMsg: Any = message_class("Any")
BlockHeaderRaw: Any = message_class("BlockHeaderRaw")

# contract classes by java-tron contract type name
CONTRACT_CLASSES: dict[str, Any] = {
    name: message_class(name)
    for name in (
        "TransferContract",
        "TriggerSmartContract",
        "FreezeBalanceV2Contract",
        "UnfreezeBalanceV2Contract",
        "WithdrawExpireUnfreezeContract",
        "DelegateResourceContract",
        "UnDelegateResourceContract",
        "CancelAllUnfreezeV2Contract",
    )
}

TYPE_URL_PREFIX = "type.googleapis.com/protocol."
