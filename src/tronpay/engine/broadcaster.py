"""Broadcast committed attempts (bounded concurrency) and rebroadcast live ones.

Every broadcast sends the SAME bytes that were committed; a node's answer never makes the
engine sign again. UNKNOWN (timeouts, 5xx, busy) just means "send again later"; the follower
and the sweeper find out what really happened by looking the txid up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.metrics import BROADCASTS, LIVE_ATTEMPTS
from tronpay.kit.clock import now_ms, utcnow
from tronpay.tron.node import BroadcastKind, BroadcastOutcome
from tronpay.tron.transaction import encode_transaction

log = structlog.get_logger(__name__)


ACCEPTED_RESEND_FACTOR = 6
# java-tron validation refusals that hold for every attempt of the payout, whatever the
# wallet's state: the payout fails once the attempt is proven dead (never re-signed).
DETERMINISTIC_REFUSALS = (
    "cannot transfer trx to a smartcontract",
    "cannot transfer trx to yourself",
    "invalid toaddress",
    "amount must be greater than 0",
)


def deterministic_refusal(outcome: BroadcastOutcome) -> bool:
    """Whether a DEAD broadcast outcome refuses the payout itself, not just this attempt."""
    if outcome.code != "CONTRACT_VALIDATE_ERROR":
        return False
    message = outcome.message.lower()
    return any(hint in message for hint in DETERMINISTIC_REFUSALS)


@dataclass(frozen=True)
class Outgoing:
    txid: str
    tx_bytes: bytes
    expiration_ms: int


class Broadcaster:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self._next_due: dict[str, float] = {}  # monotonic time of the next resend
        self._stop_sending: set[str] = set()  # refused as DEAD or BUG: sending again is useless
        self._last_due_scan = 0.0
        self.counts: dict[str, int] = {k.value: 0 for k in BroadcastKind}

    async def send(self, items: Sequence[Outgoing]) -> dict[str, BroadcastOutcome]:
        if not items:
            return {}
        sem = asyncio.Semaphore(self._ctx.config.broadcast_concurrency)
        self.mark_in_flight([i.txid for i in items])

        async def one(item: Outgoing) -> BroadcastOutcome:
            async with sem:
                return await self._ctx.node.broadcast_hex(item.tx_bytes, item.txid)

        t0 = time.monotonic()
        outcomes = await asyncio.gather(*(one(i) for i in items))
        log.info(
            "engine.broadcast.sent", attempts=len(items), seconds=round(time.monotonic() - t0, 3)
        )
        accepted: list[str] = []
        errors: dict[str, str] = {}
        for out in outcomes:
            self.counts[out.kind.value] += 1
            self._next_due[out.txid] = time.monotonic() + self._resend_after(out.kind)
            BROADCASTS.labels(out.kind.value).inc()
            if out.kind in (BroadcastKind.ACCEPTED, BroadcastKind.KNOWN):
                accepted.append(out.txid)
            elif out.kind is BroadcastKind.HOLD:
                errors[out.txid] = f"hold:{out.code}:{out.message}"
                log.warning("engine.broadcast.hold", txid=out.txid, code=out.code)
            elif out.kind is BroadcastKind.DEAD:
                final = deterministic_refusal(out)
                prefix = repo.REJECTED_PREFIX if final else repo.DEAD_PREFIX
                errors[out.txid] = f"{prefix}{out.code}:{out.message}"
                self._stop_sending.add(out.txid)
                log.warning(
                    "engine.broadcast.dead", txid=out.txid, code=out.code, deterministic=final
                )
            elif out.kind is BroadcastKind.BUG:
                errors[out.txid] = f"{repo.BUG_PREFIX}{out.code}:{out.message}"
                self._stop_sending.add(out.txid)
                log.error("engine.broadcast.bug", txid=out.txid, code=out.code, msg=out.message)
            else:
                log.info("engine.broadcast.unknown", txid=out.txid, code=out.code)
        if accepted or errors:
            now = utcnow()
            async with self._ctx.write() as session:
                if accepted:
                    await repo.mark_broadcast(session, accepted, now=now)
                if errors:
                    await repo.note_attempt_errors(session, errors, now=now)
        return {o.txid: o for o in outcomes}

    def mark_in_flight(self, txids: Sequence[str]) -> None:
        """Not due for a resend while a broadcast of these is under way. Called with no await
        between the commit of new attempts and this call, so the rebroadcast scan never
        sends a fresh attempt a second time while its first broadcast is still queued."""
        until = time.monotonic() + self._resend_after(None)
        for txid in txids:
            self._next_due[txid] = max(self._next_due.get(txid, 0.0), until)

    def _resend_after(self, kind: BroadcastKind | None) -> float:
        interval = self._ctx.config.rebroadcast_interval_s
        if kind in (BroadcastKind.ACCEPTED, BroadcastKind.KNOWN):
            return interval * ACCEPTED_RESEND_FACTOR
        return interval

    async def send_new(self, signed: Sequence[Outgoing]) -> dict[str, BroadcastOutcome]:
        return await self.send(signed)

    async def rebroadcast_due(self) -> int:
        """Send again the live attempts that are due: ``rebroadcast_interval_s`` after an
        unclear answer, ``ACCEPTED_RESEND_FACTOR`` times that after a node took it (in case
        its pool dropped it). After a restart everything live is due at once."""
        interval = self._ctx.config.rebroadcast_interval_s
        now_mono = time.monotonic()
        if now_mono - self._last_due_scan < interval / 2:
            return 0
        self._last_due_scan = now_mono
        async with self._ctx.read() as session:
            live = await repo.live_attempts(session)
        live_ids = {a.txid for a in live}
        LIVE_ATTEMPTS.set(len(live_ids))
        for gone in [t for t in self._next_due if t not in live_ids]:
            del self._next_due[gone]
        self._stop_sending &= live_ids
        wall_ms = now_ms()
        due = [
            Outgoing(a.txid, encode_transaction(a.raw_data, [a.signature]), a.expiration_ms)
            for a in live
            if a.txid not in self._stop_sending
            and wall_ms <= a.expiration_ms
            and now_mono >= self._next_due.get(a.txid, float("-inf"))
        ]
        if due:
            log.info("engine.rebroadcast", attempts=len(due))
            await self.send(due)
        return len(due)
