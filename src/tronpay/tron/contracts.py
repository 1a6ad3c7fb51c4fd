"""The contract types tronpay supports: their enum numbers, names and parameter schemas
(field numbers from java-tron's ``core/contract/*.proto``)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from tronpay.tron.schema import FieldSpec, Kind, MessageSpec

TYPE_URL_PREFIX = "type.googleapis.com/protocol."

RESOURCE_CODES = MappingProxyType({"BANDWIDTH": 0, "ENERGY": 1, "TRON_POWER": 2})


def _owner() -> FieldSpec:
    return FieldSpec(1, "owner_address", Kind.ADDRESS)


def _resource(number: int) -> FieldSpec:
    return FieldSpec(number, "resource", Kind.ENUM, enum_values=RESOURCE_CODES)


@dataclass(frozen=True, slots=True)
class ContractKind:
    """One supported ``Transaction.Contract.ContractType``."""

    name: str
    number: int
    spec: MessageSpec

    @property
    def type_url(self) -> str:
        return TYPE_URL_PREFIX + self.name


def _kind(name: str, number: int, *fields: FieldSpec) -> ContractKind:
    return ContractKind(name, number, MessageSpec(name, fields))


TRANSFER = _kind(
    "TransferContract",
    1,
    _owner(),
    FieldSpec(2, "to_address", Kind.ADDRESS),
    FieldSpec(3, "amount", Kind.INT64),
)
TRIGGER_SMART_CONTRACT = _kind(
    "TriggerSmartContract",
    31,
    _owner(),
    FieldSpec(2, "contract_address", Kind.ADDRESS),
    FieldSpec(3, "call_value", Kind.INT64),
    FieldSpec(4, "data", Kind.BYTES),
    FieldSpec(5, "call_token_value", Kind.INT64),
    FieldSpec(6, "token_id", Kind.INT64),
)
FREEZE_BALANCE_V2 = _kind(
    "FreezeBalanceV2Contract",
    54,
    _owner(),
    FieldSpec(2, "frozen_balance", Kind.INT64),
    _resource(3),
)
UNFREEZE_BALANCE_V2 = _kind(
    "UnfreezeBalanceV2Contract",
    55,
    _owner(),
    FieldSpec(2, "unfreeze_balance", Kind.INT64),
    _resource(3),
)
WITHDRAW_EXPIRE_UNFREEZE = _kind("WithdrawExpireUnfreezeContract", 56, _owner())
DELEGATE_RESOURCE = _kind(
    "DelegateResourceContract",
    57,
    _owner(),
    _resource(2),
    FieldSpec(3, "balance", Kind.INT64),
    FieldSpec(4, "receiver_address", Kind.ADDRESS),
    FieldSpec(5, "lock", Kind.BOOL),
    FieldSpec(6, "lock_period", Kind.INT64),
)
UNDELEGATE_RESOURCE = _kind(
    "UnDelegateResourceContract",
    58,
    _owner(),
    _resource(2),
    FieldSpec(3, "balance", Kind.INT64),
    FieldSpec(4, "receiver_address", Kind.ADDRESS),
)
CANCEL_ALL_UNFREEZE_V2 = _kind("CancelAllUnfreezeV2Contract", 59, _owner())

SUPPORTED: tuple[ContractKind, ...] = (
    TRANSFER,
    TRIGGER_SMART_CONTRACT,
    FREEZE_BALANCE_V2,
    UNFREEZE_BALANCE_V2,
    WITHDRAW_EXPIRE_UNFREEZE,
    DELEGATE_RESOURCE,
    UNDELEGATE_RESOURCE,
    CANCEL_ALL_UNFREEZE_V2,
)
BY_NAME = MappingProxyType({kind.name: kind for kind in SUPPORTED})
BY_NUMBER = MappingProxyType({kind.number: kind for kind in SUPPORTED})
CONTRACT_TYPES = MappingProxyType({kind.name: kind.number for kind in SUPPORTED})
