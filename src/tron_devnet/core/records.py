"""Records the chain keeps per transaction and per block."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tron_devnet.core.crypto import sha256
from tron_devnet.core.execution import Receipt, TxInput
from tron_devnet.core.state import Delta


@dataclass(eq=False, slots=True)
class TxRecord:
    """A known transaction. Once sealed or dropped it is slimmed (``slim``): only the bytes,
    the receipt and what the ledger needs stay in memory; JSON is rebuilt from ``tx_bytes``."""

    txid: str
    tx_bytes: bytes
    raw: Any  # TransactionRaw message; None once slimmed
    input: TxInput
    hold_until: int = 0
    never_include: bool = False
    block: int | None = None
    receipt: Receipt | None = None
    dropped: bool = False

    def slim(self) -> None:
        self.raw = None
        self.input = replace(self.input, value=None)


@dataclass(eq=False)
class Block:
    number: int
    timestamp: int
    block_id: bytes
    parent_hash: bytes
    header_raw: Any
    witness_signature: bytes
    txs: list[TxRecord]
    delta: Delta | None = None  # applied to the solid state when this block solidifies


@dataclass
class AdminEvent:
    after_block: int
    op: str
    args: dict[str, Any] = field(default_factory=dict)


def merkle_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return b"\0" * 32
    level = leaves
    while len(level) > 1:
        nxt = [sha256(level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
