"""The typed results of the node client: blocks, accounts, resources, chain parameters, view
calls, receipts, transactions, broadcast outcomes and txid presence. Frozen dataclasses with
integer amounts (sun, token base units); nothing here does I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tronpay.tron.errors import NodeRejected


@dataclass(frozen=True)
class BlockRef:
    """A block as a reference point: number, 32-byte id (hex) and timestamp (ms)."""

    number: int
    id: str
    timestamp: int
    parent_id: str = ""
    txids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeInfo:
    head_number: int
    head_id: str
    solid_number: int
    solid_id: str


@dataclass(frozen=True)
class Account:
    """``is_contract``: the node reports the account's type as ``Contract`` (a smart
    contract; java-tron refuses a TRX transfer to it)."""

    address: str
    exists: bool
    balance_sun: int
    is_contract: bool = False


@dataclass(frozen=True)
class AccountResource:
    energy_limit: int
    energy_used: int
    net_limit: int
    net_used: int
    free_net_limit: int
    free_net_used: int
    total_energy_limit: int
    total_energy_weight: int  # in TRX, as java-tron reports it
    total_net_limit: int = 0
    total_net_weight: int = 0  # in TRX

    @property
    def energy_available(self) -> int:
        return max(0, self.energy_limit - self.energy_used)

    @property
    def bandwidth_available(self) -> int:
        """Free plus staked bandwidth still unused today."""
        return max(0, self.free_net_limit - self.free_net_used) + max(
            0, self.net_limit - self.net_used
        )


@dataclass(frozen=True)
class ChainParameters:
    energy_fee_sun: int
    transaction_fee_sun: int
    create_account_fee_sun: int
    create_new_account_fee_in_system_contract_sun: int
    raw: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ConstantResult:
    """Outcome of a view call (``triggerconstantcontract``)."""

    ok: bool
    results: tuple[bytes, ...]
    energy_used: int
    energy_penalty: int
    message: str = ""

    @property
    def first(self) -> bytes:
        if not self.results:
            raise NodeRejected("constant call returned no result")
        return self.results[0]


@dataclass(frozen=True)
class TransactionInfo:
    """A transaction's receipt as ``gettransactioninfobyid`` reports it."""

    txid: str
    block_number: int
    block_timestamp: int
    fee_sun: int
    receipt_result: str  # SUCCESS, REVERT, OUT_OF_ENERGY, ... ("SUCCESS" when omitted)
    failed: bool  # top-level result == "FAILED"
    res_message: str
    energy_usage_total: int
    energy_fee_sun: int
    net_usage: int
    net_fee_sun: int
    energy_penalty_total: int
    logs: tuple[Mapping[str, Any], ...] = ()
    # energy from stake (the sender's ``energy_usage`` and the contract owner's
    # ``origin_energy_usage``); the rest of ``energy_usage_total`` was paid by burning TRX
    energy_usage_staked: int = 0

    @property
    def success(self) -> bool:
        return not self.failed and self.receipt_result == "SUCCESS"


@dataclass(frozen=True)
class Transaction:
    """A transaction as ``gettransactionbyid`` reports it (the parts tronpay checks)."""

    txid: str
    raw_data_hex: str
    contract_type: str
    parameter: Mapping[str, Any]
    contract_ret: str  # "SUCCESS" or the failure code; "" when not yet executed


class BroadcastKind(enum.StrEnum):
    ACCEPTED = "accepted"  # the node took it into its pool
    KNOWN = "known"  # DUP_TRANSACTION_ERROR: the node already has it; track the txid
    DEAD = "dead"  # TAPOS/expiration/validation: this broadcast was refused for good
    HOLD = "hold"  # bandwidth or balance short: refused until funds arrive
    UNKNOWN = "unknown"  # timeout, 5xx, busy, OTHER_ERROR: look the txid up, rebroadcast
    BUG = "bug"  # SIGERROR, too big, txid mismatch: our transaction is wrong


@dataclass(frozen=True)
class BroadcastOutcome:
    kind: BroadcastKind
    txid: str
    code: str = ""
    message: str = ""
    node: str = ""


@dataclass(frozen=True)
class TxidPresence:
    """What every configured node says about a txid (for the dead-attempt proof)."""

    txid: str
    known_on: tuple[str, ...]  # nodes that have the tx (pool, block or solidified info)
    unknown_on: tuple[str, ...]  # nodes that answered and do not know it
    unreachable: tuple[str, ...]  # nodes that did not answer: they prove nothing

    @property
    def proven_unknown(self) -> bool:
        """True when at least one node answered, none knows the txid and none was unreachable."""
        return bool(self.unknown_on) and not self.known_on and not self.unreachable
