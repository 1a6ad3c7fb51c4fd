"""The block follower and the solidity follower.

The block follower reads ``gettransactioninfobyblocknum`` once for every new block, matches
the txids against live attempts and records their receipts (confirmed / failed). On start it
remembers the head FIRST, then looks every live attempt up by txid, then follows from that
head: a transaction included before the head is found by the lookup, one included after it
by the follower. An empty receipts answer passes the cursor only when the block itself is
there and holds none of our transactions (a lagging backend answers ``[]`` for a block it does
not have yet); otherwise the follower waits at that block.

The solidity follower finalizes confirmed payouts whose block is at or below the solidified
head once the solidified receipts show SUCCESS. A failure receipt is provisional (REVIEW-1): the
payout stays ``submitted`` with its reservation until the failing block is solidified and the
solidified state agrees; only then is it failed (or re-queued once after OUT_OF_ENERGY).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

import structlog

from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.metrics import FOLLOWER_CURSOR, PAYOUT_EVENTS
from tronpay.engine.proof import is_actual_block
from tronpay.kit.clock import utcnow
from tronpay.payouts.states import AttemptStatus
from tronpay.tron.node import TransactionInfo

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
_WINDOW = 8
# Receipts the follower hands on: live attempts, and expired ones (an alarm: REVIEW-2).
_RECEIPT_STATUSES = frozenset({*repo.LIVE, AttemptStatus.EXPIRED.value})


async def gather_bounded(limit: int, fns: Sequence[Callable[[], Awaitable[_T]]]) -> list[_T]:
    sem = asyncio.Semaphore(limit)

    async def run(fn: Callable[[], Awaitable[_T]]) -> _T:
        async with sem:
            return await fn()

    return list(await asyncio.gather(*(run(f) for f in fns)))


async def apply_receipts(ctx: EngineContext, infos: Sequence[TransactionInfo]) -> dict[str, int]:
    """Record receipts of live attempts in one write transaction; returns outcome counts."""
    counts: dict[str, int] = {}
    if not infos:
        return counts
    now = utcnow()
    t0 = time.monotonic()
    by_txid = {i.txid: i for i in infos}
    async with ctx.write() as session:
        results = await repo.apply_receipts_bulk(
            session, infos, now=now, lock=ctx.postgres, policy=ctx.policy
        )
    for res in results:
        counts[res.outcome] = counts.get(res.outcome, 0) + 1
        if res.outcome in ("ignored", "confirmed"):
            continue
        info = by_txid[res.txid]
        log.info(
            "engine.receipt",
            payout_id=res.payout_id,
            txid=res.txid,
            outcome=res.outcome,
            result=info.receipt_result,
            fee=info.fee_sun,
        )
    for outcome, n in counts.items():
        if outcome != "ignored":
            PAYOUT_EVENTS.labels(outcome).inc(n)
    log.info(
        "engine.receipts.applied",
        receipts=len(infos),
        confirmed=counts.get("confirmed", 0),
        seconds=round(time.monotonic() - t0, 3),
    )
    return counts


async def _orphaned(
    ctx: EngineContext, missing: Sequence[repo.ConfirmedPayout]
) -> list[repo.ConfirmedPayout]:
    """Confirmed payouts whose (solidified) block exists and does not hold their txid."""
    node = ctx.node
    blocks = await gather_bounded(
        ctx.config.read_concurrency,
        [partial(node.block_by_number, c.block_number) for c in missing],
    )
    return [
        c
        for c, block in zip(missing, blocks, strict=True)
        if block is not None and block.number == c.block_number and c.txid not in block.txids
    ]


async def _solid_failures(
    ctx: EngineContext,
    failures: Sequence[repo.ProvisionalFailure],
    solid_infos: dict[tuple[int, str], TransactionInfo],
) -> tuple[list[TransactionInfo], list[repo.ConfirmedPayout]]:
    """Provisional failures whose solidified block agrees (the block's solidified receipts
    AND ``/walletsolidity/gettransactioninfobyid`` show the same failure in the same block),
    and those whose block no longer holds the txid (orphaned)."""
    if not failures:
        return [], []
    agreed: list[TransactionInfo] = []
    missing: list[repo.ConfirmedPayout] = []
    for f in failures:
        found = solid_infos.get((f.block_number, f.txid))
        if found is None:
            missing.append(repo.ConfirmedPayout(f.payout_id, f.txid, f.block_number))
        elif found.success:
            log.error(
                "engine.finalize.solid_receipt_success_after_failure",
                payout_id=f.payout_id,
                txid=f.txid,
                block=f.block_number,
            )
        else:
            agreed.append(found)
    node = ctx.node
    by_id = await gather_bounded(
        ctx.config.read_concurrency,
        [partial(node.transaction_info, i.txid, solid=True) for i in agreed],
    )
    settle = [
        i
        for i, again in zip(agreed, by_id, strict=True)
        if again is not None and not again.success and again.block_number == i.block_number
    ]
    orphaned = await _orphaned(ctx, missing) if missing else []
    return settle, orphaned


class BlockFollower:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self.cursor: int | None = None

    async def start(self) -> None:
        """Resume: remember the head, look up every live attempt, follow from the head."""
        head = (await self._ctx.node.now_block()).number
        async with self._ctx.read() as session:
            live = await repo.live_attempts(session)
        if live:
            node = self._ctx.node
            found = await gather_bounded(
                self._ctx.config.read_concurrency,
                [partial(node.transaction_info, a.txid) for a in live],
            )
            await apply_receipts(self._ctx, [i for i in found if i is not None])
            log.info("engine.follower.resumed", live=len(live), head=head)
        self.cursor = head

    async def step(self) -> int:
        """Process new blocks up to the head (bounded per call); returns blocks processed."""
        if self.cursor is None:
            await self.start()
            return 0
        head = (await self._ctx.node.now_block()).number
        last = min(head, self.cursor + self._ctx.config.max_follow_blocks_per_tick)
        done = 0
        node = self._ctx.node
        while self.cursor < last:
            numbers = list(range(self.cursor + 1, min(last, self.cursor + _WINDOW) + 1))
            per_block = await asyncio.gather(*(node.transaction_infos_in_block(n) for n in numbers))
            readable = await self._readable(numbers, per_block)
            infos = [i for block in per_block[:readable] for i in block]
            if infos:
                async with self._ctx.read() as session:
                    ours = await repo.attempt_statuses(session, [i.txid for i in infos])
                matched = [i for i in infos if ours.get(i.txid) in _RECEIPT_STATUSES]
                if matched:
                    await apply_receipts(self._ctx, matched)
            if readable:
                self.cursor = numbers[readable - 1]
                FOLLOWER_CURSOR.set(self.cursor)
                done += readable
            if readable < len(numbers):
                log.warning("engine.follower.block_unconfirmed_empty", block=numbers[readable])
                break
        return done

    async def _readable(
        self, numbers: Sequence[int], per_block: Sequence[tuple[TransactionInfo, ...]]
    ) -> int:
        """How many leading blocks the follower may pass. An empty receipts answer is
        trusted only when the block itself (``getblockbynum``) is there and holds no
        transaction of ours still waiting for its receipt: a lagging backend answers ``[]``
        for a block it lacks."""
        empty = [n for n, infos in zip(numbers, per_block, strict=True) if not infos]
        if not empty:
            return len(numbers)
        node = self._ctx.node
        blocks = await gather_bounded(
            self._ctx.config.read_concurrency, [partial(node.block_by_number, n) for n in empty]
        )
        by_number = dict(zip(empty, blocks, strict=True))
        txids = [t for b in blocks if b is not None for t in b.txids]
        ours: dict[str, str] = {}
        if txids:
            async with self._ctx.read() as session:
                ours = await repo.attempt_statuses(session, txids)
        for index, n in enumerate(numbers):
            if n not in by_number:
                continue
            block = by_number[n]
            if not is_actual_block(block, n) or block is None:
                return index
            if any(ours.get(t) in _RECEIPT_STATUSES for t in block.txids):
                return index
        return len(numbers)


async def finalize_step(ctx: EngineContext) -> int:
    """Move confirmed payouts whose block is solidified to ``finalized``.

    One ``/walletsolidity/gettransactioninfobyblocknum`` per solidified block that holds
    candidates: a payout is final when its txid is in that list with SUCCESS. A candidate
    missing from its block's solidified receipts is checked for a reorg (the block at that
    height no longer holds the txid) or simply waits (a lagging solidity node)."""
    solid = (await ctx.node.node_info()).solid_number
    async with ctx.read() as session:
        candidates = await repo.confirmed_up_to(session, solid)
        failures = await repo.failures_up_to(session, solid)
    if not candidates and not failures:
        return 0
    node = ctx.node
    numbers = sorted({c.block_number for c in candidates} | {f.block_number for f in failures})
    per_block = await gather_bounded(
        ctx.config.read_concurrency,
        [partial(node.transaction_infos_in_block, n, solid=True) for n in numbers],
    )
    solid_infos: dict[tuple[int, str], TransactionInfo] = {}
    for n, infos in zip(numbers, per_block, strict=True):
        for info in infos:
            solid_infos[(n, info.txid)] = info
    ready: list[str] = []
    missing: list[repo.ConfirmedPayout] = []
    for c in candidates:
        found = solid_infos.get((c.block_number, c.txid))
        if found is None:
            missing.append(c)
        elif found.success:
            ready.append(c.payout_id)
        else:
            log.error("engine.finalize.solid_receipt_not_success", payout_id=c.payout_id)
    orphaned = await _orphaned(ctx, missing) if missing else []
    settle, failed_orphans = await _solid_failures(ctx, failures, solid_infos)
    if not ready and not orphaned and not settle and not failed_orphans:
        return 0
    now = utcnow()
    n = 0
    async with ctx.write() as session:
        n = await repo.finalize_many(session, ready, now=now, lock=ctx.postgres)
        for info in settle:
            outcome = await repo.settle_failure(
                session, info, now=now, lock=ctx.postgres, policy=ctx.policy
            )
            if outcome != "ignored":
                PAYOUT_EVENTS.labels(outcome).inc()
            log.info(
                "engine.failure.settled",
                txid=info.txid,
                block=info.block_number,
                result=info.receipt_result,
                outcome=outcome,
            )
        for c in failed_orphans:
            revived = await repo.unfail_orphaned(session, c.txid, now=now, lock=ctx.postgres)
            PAYOUT_EVENTS.labels("failure_orphaned").inc()
            log.error(
                "engine.reorg.failure_orphaned",
                payout_id=c.payout_id,
                txid=c.txid,
                block=c.block_number,
                live_again=revived,
            )
        for c in orphaned:
            recovered = await repo.unconfirm_orphaned(
                session, c.payout_id, c.txid, now=now, lock=ctx.postgres
            )
            PAYOUT_EVENTS.labels("orphaned").inc()
            log.error(
                "engine.reorg.orphaned",
                payout_id=c.payout_id,
                txid=c.txid,
                block=c.block_number,
                resent=recovered,
            )
    PAYOUT_EVENTS.labels("finalized").inc(n)
    log.info("engine.finalized", payouts=n, solid=solid)
    return n
