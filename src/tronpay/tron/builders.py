"""Typed builders for the transactions tronpay sends. Each returns a canonical java-tron
``raw_data`` dict (hex addresses, defaults omitted) that has already been through
``encode_raw_data``/``decode_raw_data``, so what a builder returns is exactly what gets signed.

Addresses may be base58 (``T...``) or hex (``41...``); amounts are integers in base units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tronpay.tron import abi
from tronpay.tron.address import to_bytes
from tronpay.tron.codec import (
    REF_BLOCK_BYTES_LENGTH,
    REF_BLOCK_HASH_LENGTH,
    decode_raw_data,
    encode_raw_data,
)
from tronpay.tron.contracts import (
    CANCEL_ALL_UNFREEZE_V2,
    DELEGATE_RESOURCE,
    FREEZE_BALANCE_V2,
    TRANSFER,
    TRIGGER_SMART_CONTRACT,
    UNDELEGATE_RESOURCE,
    UNFREEZE_BALANCE_V2,
    WITHDRAW_EXPIRE_UNFREEZE,
    ContractKind,
)
from tronpay.tron.errors import EncodeError
from tronpay.tron.protobuf import INT64_MAX

MEMO_MAX_BYTES = 512
"""Builders refuse longer memos (java-tron only bounds the whole transaction, 500 KiB; a
payout reference never needs more, and every memo byte costs bandwidth)."""

BLOCK_ID_LENGTH = 32

Resource = Literal["BANDWIDTH", "ENERGY"]
_RESOURCES = frozenset({"BANDWIDTH", "ENERGY"})


@dataclass(frozen=True, slots=True)
class RefBlock:
    """The TAPOS reference of a transaction: two bytes of a recent block number and eight
    bytes of that block's id."""

    ref_block_bytes: bytes
    ref_block_hash: bytes

    def __post_init__(self) -> None:
        if len(self.ref_block_bytes) != REF_BLOCK_BYTES_LENGTH:
            raise EncodeError("ref_block_bytes must be 2 bytes")
        if len(self.ref_block_hash) != REF_BLOCK_HASH_LENGTH:
            raise EncodeError("ref_block_hash must be 8 bytes")

    @classmethod
    def from_block(cls, number: int, block_id_hex: str) -> RefBlock:
        """From a block's number and its 32-byte id (hex, as ``blockID`` in node JSON).

        The id's first 8 bytes carry the block number; a mismatch means the caller mixed up
        two blocks and is refused.
        """
        if not 0 <= number <= INT64_MAX:
            raise EncodeError("block number out of range")
        try:
            block_id = bytes.fromhex(block_id_hex)
        except ValueError:
            raise EncodeError("block id is not valid hex") from None
        if len(block_id) != BLOCK_ID_LENGTH:
            raise EncodeError("block id must be 32 bytes")
        number_bytes = number.to_bytes(8, "big")
        if block_id[:8] != number_bytes:
            raise EncodeError("block id does not belong to this block number")
        return cls(ref_block_bytes=number_bytes[6:8], ref_block_hash=block_id[8:16])


def build_trx_transfer(
    owner: str,
    to: str,
    amount_sun: int,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """A TransferContract moving ``amount_sun`` TRX (in sun) from ``owner`` to ``to``."""
    owner_hex, to_hex = _address(owner, "owner"), _address(to, "to")
    if owner_hex == to_hex:
        raise EncodeError("cannot transfer TRX to the owner itself")
    value = {"owner_address": owner_hex, "to_address": to_hex, "amount": _positive(amount_sun)}
    return _build(
        TRANSFER,
        value,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=None,
    )


def build_trc20_transfer(
    owner: str,
    contract: str,
    to: str,
    amount_units: int,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    fee_limit: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """A TriggerSmartContract calling ``transfer(to, amount_units)`` on a TRC20 ``contract``."""
    value = {
        "owner_address": _address(owner, "owner"),
        "contract_address": _address(contract, "contract"),
        "data": abi.transfer_call(_address(to, "to"), _positive_uint256(amount_units)).hex(),
    }
    fee = _positive(fee_limit, "fee_limit")
    return _build(
        TRIGGER_SMART_CONTRACT,
        value,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=fee,
    )


def build_freeze_v2(
    owner: str,
    amount_sun: int,
    resource: Resource,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """Stake 2.0: freeze ``amount_sun`` for ``resource``."""
    value = {
        "owner_address": _address(owner, "owner"),
        "frozen_balance": _positive(amount_sun),
        "resource": _resource(resource),
    }
    return _build(
        FREEZE_BALANCE_V2,
        value,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=None,
    )


def build_unfreeze_v2(
    owner: str,
    amount_sun: int,
    resource: Resource,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """Stake 2.0: start unfreezing ``amount_sun`` staked for ``resource``."""
    value = {
        "owner_address": _address(owner, "owner"),
        "unfreeze_balance": _positive(amount_sun),
        "resource": _resource(resource),
    }
    return _build(
        UNFREEZE_BALANCE_V2,
        value,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=None,
    )


def build_withdraw_expire_unfreeze(
    owner: str,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """Stake 2.0: withdraw every unfrozen amount whose waiting period is over."""
    return _owner_only(
        WITHDRAW_EXPIRE_UNFREEZE,
        owner,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
    )


def build_cancel_all_unfreeze_v2(
    owner: str,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """Stake 2.0: put every pending unfreeze back into stake (and withdraw the expired ones)."""
    return _owner_only(
        CANCEL_ALL_UNFREEZE_V2,
        owner,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
    )


def _owner_only(
    contract: ContractKind,
    owner: str,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None,
) -> dict[str, Any]:
    """A contract whose only field is the owner (WithdrawExpireUnfreeze, CancelAllUnfreezeV2)."""
    return _build(
        contract,
        {"owner_address": _address(owner, "owner")},
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=None,
    )


def build_delegate_resource(
    owner: str,
    receiver: str,
    amount_sun: int,
    resource: Resource,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    lock: bool = False,
    lock_period: int = 0,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """Stake 2.0: delegate the ``resource`` of ``amount_sun`` staked TRX to ``receiver``.

    ``lock_period`` (in blocks) is only meaningful with ``lock=True``.
    """
    owner_hex, receiver_hex = _address(owner, "owner"), _address(receiver, "receiver")
    if owner_hex == receiver_hex:
        raise EncodeError("cannot delegate resources to the owner itself")
    if not isinstance(lock, bool):
        raise EncodeError("lock must be a bool")
    if lock_period and not lock:
        raise EncodeError("lock_period requires lock=True")
    value: dict[str, Any] = {
        "owner_address": owner_hex,
        "resource": _resource(resource),
        "balance": _positive(amount_sun),
        "receiver_address": receiver_hex,
        "lock": lock,
        "lock_period": _non_negative(lock_period, "lock_period"),
    }
    return _build(
        DELEGATE_RESOURCE,
        value,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=None,
    )


def build_undelegate_resource(
    owner: str,
    receiver: str,
    amount_sun: int,
    resource: Resource,
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None = None,
) -> dict[str, Any]:
    """Stake 2.0: take back ``amount_sun`` worth of ``resource`` delegated to ``receiver``."""
    owner_hex, receiver_hex = _address(owner, "owner"), _address(receiver, "receiver")
    if owner_hex == receiver_hex:
        raise EncodeError("cannot undelegate resources from the owner itself")
    value = {
        "owner_address": owner_hex,
        "resource": _resource(resource),
        "balance": _positive(amount_sun),
        "receiver_address": receiver_hex,
    }
    return _build(
        UNDELEGATE_RESOURCE,
        value,
        ref=ref,
        timestamp_ms=timestamp_ms,
        expiration_ms=expiration_ms,
        memo=memo,
        fee_limit=None,
    )


# ---------------------------------------------------------------- helpers


def memo_bytes(memo: bytes | str | None) -> bytes:
    """The memo as bytes (str is UTF-8), at most :data:`MEMO_MAX_BYTES`."""
    if memo is None:
        return b""
    if isinstance(memo, str):
        data = memo.encode("utf-8")
    elif isinstance(memo, bytes):
        data = memo
    else:
        raise EncodeError("memo must be bytes or str")
    if len(data) > MEMO_MAX_BYTES:
        raise EncodeError(f"memo is longer than {MEMO_MAX_BYTES} bytes")
    return data


def _build(
    kind: ContractKind,
    value: dict[str, Any],
    *,
    ref: RefBlock,
    timestamp_ms: int,
    expiration_ms: int,
    memo: bytes | str | None,
    fee_limit: int | None,
) -> dict[str, Any]:
    timestamp = _positive(timestamp_ms, "timestamp_ms")
    expiration = _positive(expiration_ms, "expiration_ms")
    if expiration <= timestamp:
        raise EncodeError("expiration_ms must be after timestamp_ms")
    raw_data: dict[str, Any] = {
        "contract": [{"parameter": {"value": value, "type_url": kind.type_url}, "type": kind.name}],
        "ref_block_bytes": ref.ref_block_bytes.hex(),
        "ref_block_hash": ref.ref_block_hash.hex(),
        "expiration": expiration,
        "timestamp": timestamp,
    }
    data = memo_bytes(memo)
    if data:
        raw_data["data"] = data.hex()
    if fee_limit is not None:
        raw_data["fee_limit"] = fee_limit
    # Round trip: validates everything and yields the canonical form (defaults dropped).
    return decode_raw_data(encode_raw_data(raw_data))


def _address(addr: str, role: str) -> str:
    if not isinstance(addr, str):
        raise EncodeError(f"{role} address must be a string")
    return to_bytes(addr).hex()


def _positive(value: int, name: str = "amount") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= INT64_MAX:
        raise EncodeError(f"{name} must be an integer in [1, 2**63 - 1]")
    return value


def _non_negative(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT64_MAX:
        raise EncodeError(f"{name} must be an integer in [0, 2**63 - 1]")
    return value


def _positive_uint256(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise EncodeError("amount_units must be a positive integer")
    return value


def _resource(resource: str) -> str:
    if resource not in _RESOURCES:
        raise EncodeError("resource must be BANDWIDTH or ENERGY")
    return resource
