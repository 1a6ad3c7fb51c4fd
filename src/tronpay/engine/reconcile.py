"""Periodic reconciliation: every finalized payout's transaction is on chain with SUCCESS,
from the hot wallet, to the right recipient, for the right amount, and no recently expired
attempt turned out to be on chain after all. A mismatch is logged as an error (it means a bug
or a lying node; it never changes a payout's state by itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import structlog

from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.follower import gather_bounded
from tronpay.engine.planner import USDT
from tronpay.kit.clock import utcnow
from tronpay.observability import metrics
from tronpay.tron import abi
from tronpay.tron.address import to_bytes
from tronpay.tron.codec import decode_raw_data
from tronpay.tron.errors import TronError
from tronpay.tron.hashing import sha256
from tronpay.tron.node import Transaction, TransactionInfo

log = structlog.get_logger(__name__)

EXPIRED_RECHECK_S = 600.0  # how long after expiry an attempt is looked up again
EXPIRED_RECHECK_LIMIT = 100  # per reconcile run, newest first


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
    expired_included: tuple[str, ...] = ()  # txids of dead-declared attempts found on chain


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
        # The wallet that signed the payout (from our own stored bytes): the hot wallet of the
        # day, which after a key rotation is no longer the current one.
        if _hex(p.get("owner_address")) != (_signed_owner(fp.raw_data) or _hex(hot_wallet)):
            return "not sent by the hot wallet that signed it"
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


def _signed_owner(raw_data: bytes | None) -> str | None:
    """The owner address (hex) of the transaction we signed, or None when unknown."""
    if not raw_data:
        return None
    try:
        owner = decode_raw_data(raw_data)["contract"][0]["parameter"]["value"]["owner_address"]
    except (TronError, KeyError, IndexError, TypeError):
        return None
    return _hex(owner) if isinstance(owner, str) else None


def _hex(addr: object) -> str:
    if not isinstance(addr, str):
        raise ValueError("missing address")
    return to_bytes(addr).hex()


async def reconcile(
    ctx: EngineContext, since: datetime | None, *, limit: int = 500
) -> ReconcileReport:
    """Check finalized payouts changed after ``since`` (oldest first, at most ``limit``),
    and that no recently expired attempt is known to the node after all."""
    expired_included = await recheck_expired(ctx)
    async with ctx.read() as session:
        rows = await repo.finalized_since(session, since, limit)
    if not rows:
        return ReconcileReport(0, (), since, expired_included)
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
            metrics.RECONCILE_MISMATCHES.inc()
    log.info("engine.reconcile.done", checked=len(rows), mismatches=len(problems))
    return ReconcileReport(len(rows), tuple(problems), rows[-1].updated_at, expired_included)


async def recheck_expired(
    ctx: EngineContext,
    *,
    within_s: float = EXPIRED_RECHECK_S,
    limit: int = EXPIRED_RECHECK_LIMIT,
) -> tuple[str, ...]:
    """Look attempts declared dead in the last ``within_s`` seconds up again: one the node
    has a receipt for was included after all (a wrong proof, maybe a double pay). Raises the
    alarm (error log + metric); never changes a payout by itself."""
    since = utcnow() - timedelta(seconds=within_s)
    async with ctx.read() as session:
        expired = await repo.recently_expired(session, since, limit)
    if not expired:
        return ()
    node = ctx.node
    infos = await gather_bounded(
        ctx.config.read_concurrency, [partial(node.transaction_info, e.txid) for e in expired]
    )
    found: list[str] = []
    for e, info in zip(expired, infos, strict=True):
        if info is not None:
            repo.alarm_expired_included(info, e.payout_id)
            found.append(e.txid)
    return tuple(found)
