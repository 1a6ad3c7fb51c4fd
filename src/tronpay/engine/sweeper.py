"""The expiry sweeper: the only place a live attempt is declared dead (docs/engine.md).

An attempt is dead when the engine itself read every block it could be included in, from
its reference block + 1 to the first block stamped after expiration + margin, as one chain at
or below the solidified head, and none holds the txid (``engine/proof.py``; answers from a
lagging backend cannot prove it), AND every configured node answered that it does not know the
txid (neither ``/wallet/gettransactionbyid`` nor ``/walletsolidity/gettransactioninfobyid``).
A missing block or an unreachable node proves nothing: the decision is postponed. The payout
then goes back to ``queued`` and the planner makes a new attempt.

The sweeper also looks up live attempts that have waited a while (a follower that read a block
from a lagging node may have missed them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import structlog

from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.follower import apply_receipts, gather_bounded
from tronpay.engine.metrics import PAYOUT_EVENTS
from tronpay.engine.proof import BlockWindow, Candidate, Verdict
from tronpay.kit.clock import utcnow
from tronpay.observability import metrics
from tronpay.tron.node import TxidPresence

log = structlog.get_logger(__name__)

STRAGGLER_AGE_S = 20.0
STRAGGLER_RECHECK_S = 15.0
STRAGGLERS_PER_SWEEP = 256  # bound the extra lookups a large backlog can cause


@dataclass(frozen=True)
class SweepResult:
    expired: int
    found: int
    undecided: int


class Sweeper:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self._checked: dict[str, float] = {}

    async def step(self) -> SweepResult:
        ctx = self._ctx
        node = ctx.node
        async with ctx.read() as session:
            live = await repo.live_attempts(session)
        if not live:
            self._checked.clear()
            return SweepResult(0, 0, 0)
        info = await node.node_info()
        solid_block = await node.block_by_number(info.solid_number)
        solid_ts = solid_block.timestamp if solid_block is not None else 0
        margin_ms = ctx.config.expiry_margin_s * 1000
        mono = time.monotonic()
        now = utcnow()
        past = [a for a in live if a.expiration_ms + margin_ms < solid_ts]
        past_ids = {a.txid for a in past}
        stragglers = [
            a
            for a in live
            if a.txid not in past_ids
            and (now - a.created_at).total_seconds() > STRAGGLER_AGE_S
            and mono - self._checked.get(a.txid, float("-inf")) > STRAGGLER_RECHECK_S
        ]
        stragglers = stragglers[:STRAGGLERS_PER_SWEEP]
        live_ids = {a.txid for a in live}
        self._checked = {t: v for t, v in self._checked.items() if t in live_ids}
        found = 0
        if stragglers:
            for a in stragglers:
                self._checked[a.txid] = mono
            infos = await gather_bounded(
                ctx.config.read_concurrency,
                [partial(node.transaction_info, a.txid) for a in stragglers],
            )
            got = [i for i in infos if i is not None]
            if got:
                await apply_receipts(ctx, got)
                found += len(got)
        if not past:
            return SweepResult(0, found, 0)
        window = BlockWindow(
            node.block_by_number,
            solid_number=info.solid_number,
            solid_id=info.solid_id,
            margin_ms=margin_ms,
            concurrency=ctx.config.read_concurrency,
        )
        proofs = await window.prove([Candidate(a.txid, a.raw_data, a.expiration_ms) for a in past])
        included = [p.txid for p in proofs if p.verdict is Verdict.INCLUDED]
        window_dead = [p.txid for p in proofs if p.verdict is Verdict.DEAD]
        for p in proofs:
            if p.verdict is Verdict.INCLUDED:
                log.warning("engine.sweep.found_in_block", txid=p.txid, block=p.block_number)
            elif p.verdict is Verdict.UNDECIDED:
                log.info("engine.sweep.window_undecided", txid=p.txid, reason=p.reason)
        # The per-node txid lookups stay as a second, independent condition.
        presences: list[TxidPresence] = await gather_bounded(
            ctx.config.read_concurrency, [partial(node.txid_presence, t) for t in window_dead]
        )
        known = included + [p.txid for p in presences if p.known_on]
        dead = [p.txid for p in presences if p.proven_unknown]
        undecided = len(past) - len(known) - len(dead)
        if known:
            infos = await gather_bounded(
                ctx.config.read_concurrency, [partial(node.transaction_info, t) for t in known]
            )
            got = [i for i in infos if i is not None]
            if got:
                await apply_receipts(ctx, got)
                found += len(got)
        expired = 0
        if dead:
            async with ctx.write() as session:
                for txid in dead:
                    outcome = await repo.expire_attempt(
                        session, txid, now=now, lock=ctx.postgres, policy=ctx.policy
                    )
                    if outcome != "ignored":
                        expired += 1
                        PAYOUT_EVENTS.labels("expired").inc()
                        metrics.attempts("expired")
                        log.warning("engine.attempt.expired", txid=txid, outcome=outcome)
        if undecided:
            log.info("engine.sweep.undecided", attempts=undecided)
        return SweepResult(expired, found, undecided)
