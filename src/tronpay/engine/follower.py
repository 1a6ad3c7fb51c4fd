"""The block follower and the solidity follower.

The block follower reads ``gettransactioninfobyblocknum`` once for every new block, matches
the txids against live attempts and records their receipts (confirmed / failed). On start it
remembers the head FIRST, then looks every live attempt up by txid, then follows from that
head: a transaction included before the head is found by the lookup, one included after it
by the follower. A block a lagging node answered empty is caught later by the sweeper's
direct lookups, so nothing is lost, only delayed.

The solidity follower finalizes confirmed payouts whose block is at or below the solidified
head once ``/walletsolidity/gettransactioninfobyid`` shows the receipt SUCCESS.
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
from tronpay.kit.clock import utcnow
from tronpay.tron.node import TransactionInfo

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
_WINDOW = 8


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
            infos = [i for block in per_block for i in block]
            if infos:
                async with self._ctx.read() as session:
                    live = await repo.live_txids(session, [i.txid for i in infos])
                matched = [i for i in infos if i.txid in live]
                if matched:
                    await apply_receipts(self._ctx, matched)
            self.cursor = numbers[-1]
            FOLLOWER_CURSOR.set(self.cursor)
            done += len(numbers)
        return done


async def finalize_step(ctx: EngineContext) -> int:
    """Move confirmed payouts whose block is solidified to ``finalized``.

    One ``/walletsolidity/gettransactioninfobyblocknum`` per solidified block that holds
    candidates: a payout is final when its txid is in that list with SUCCESS. A candidate
    missing from its block's solidified receipts is checked for a reorg (the block at that
    height no longer holds the txid) or simply waits (a lagging solidity node)."""
    solid = (await ctx.node.node_info()).solid_number
    async with ctx.read() as session:
        candidates = await repo.confirmed_up_to(session, solid)
    if not candidates:
        return 0
    node = ctx.node
    numbers = sorted({c.block_number for c in candidates})
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
    if not ready and not orphaned:
        return 0
    now = utcnow()
    n = 0
    async with ctx.write() as session:
        n = await repo.finalize_many(session, ready, now=now, lock=ctx.postgres)
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
