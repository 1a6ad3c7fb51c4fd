"""Periodic reconciliation: every finalized payout's transaction is on chain with SUCCESS,
from the hot wallet, to the right recipient, for the right amount. A mismatch is logged as
an error (it means a bug or a lying node; it never changes a payout's state by itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog

from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.follower import gather_bounded
from tronpay.engine.planner import USDT
from tronpay.tron import abi
from tronpay.tron.address import to_bytes
from tronpay.tron.errors import TronError
from tronpay.tron.hashing import sha256
from tronpay.tron.node import Transaction, TransactionInfo

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Mismatch:
    payout_id: str
    txid: str
    problem: str


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    mismatches: tuple[Mismatch, ...]
    last_seen: datetime | None


def check_transfer(
    fp: repo.FinalizedPayout,
    tx: Transaction | None,
    info: TransactionInfo | None,
    *,
    hot_wallet: str,
    token_contract: str,
) -> str | None:
    """The problem with a finalized payout's on-chain transaction, or None when it is right."""
    if tx is None:
        return "transaction unknown to the node"
    if tx.txid and tx.txid.lower() != fp.txid.lower():
        return "node returned another txid"
    if tx.raw_data_hex and sha256(bytes.fromhex(tx.raw_data_hex)).hex() != fp.txid.lower():
        return "raw_data does not hash to the txid"
    if info is None or not info.success:
        return "no SUCCESS receipt in the solidified state"
    if tx.contract_ret and tx.contract_ret != "SUCCESS":
        return f"contractRet {tx.contract_ret}"
    p = tx.parameter
    try:
        if _hex(p.get("owner_address")) != _hex(hot_wallet):
            return "not sent by the hot wallet"
        if fp.asset == USDT:
            if tx.contract_type != "TriggerSmartContract":
                return f"unexpected contract {tx.contract_type}"
            if _hex(p.get("contract_address")) != _hex(token_contract):
                return "wrong token contract"
            call = abi.decode_transfer(bytes.fromhex(str(p.get("data", ""))))
            if _hex(call.to) != _hex(fp.to_address) or call.amount != fp.amount:
                return "wrong recipient or amount"
        else:
            if tx.contract_type != "TransferContract":
                return f"unexpected contract {tx.contract_type}"
            if _hex(p.get("to_address")) != _hex(fp.to_address) or p.get("amount") != fp.amount:
                return "wrong recipient or amount"
    except (TronError, ValueError) as exc:
        return f"cannot decode the transaction: {exc}"
    return None


def _hex(addr: object) -> str:
    if not isinstance(addr, str):
        raise ValueError("missing address")
    return to_bytes(addr).hex()


async def reconcile(
    ctx: EngineContext, since: datetime | None, *, limit: int = 500
) -> ReconcileReport:
    """Check finalized payouts changed after ``since`` (oldest first, at most ``limit``)."""
    async with ctx.read() as session:
        rows = await repo.finalized_since(session, since, limit)
    if not rows:
        return ReconcileReport(0, (), since)
    node = ctx.node
    conc = ctx.config.read_concurrency
    txs = await gather_bounded(conc, [partial(node.transaction_by_id, r.txid) for r in rows])
    infos = await gather_bounded(
        conc, [partial(node.transaction_info, r.txid, solid=True) for r in rows]
    )
    problems: list[Mismatch] = []
    for row, tx, info in zip(rows, txs, infos, strict=True):
        problem = check_transfer(
            row,
            tx,
            info,
            hot_wallet=ctx.signer.address,
            token_contract=ctx.token_contract,
        )
        if problem is not None:
            problems.append(Mismatch(row.payout_id, row.txid, problem))
            log.error(
                "engine.reconcile.mismatch", payout_id=row.payout_id, txid=row.txid, problem=problem
            )
    log.info("engine.reconcile.done", checked=len(rows), mismatches=len(problems))
    return ReconcileReport(len(rows), tuple(problems), rows[-1].updated_at)
