"""Claim -> plan -> sign -> persist (one transaction) -> hand over to the broadcaster.

PostgreSQL: one write transaction holds the claimed rows (``FOR UPDATE SKIP LOCKED``) and the
planning lock from the claim to the commit of the signed attempts. SQLite (one engine): the
claim is read, planned and signed outside any transaction, then re-checked row by row in the
write transaction (a payout cancelled meanwhile is skipped), which keeps the single writer
free while the node is being asked.

Failure isolation: an error that belongs to one payout never holds up the others. A payout
whose transaction cannot be built (``signing.sign_each``) fails with an ``unbuildable:``
reason. When planning the round raises something other than a node or database error, the
round is planned again one payout at a time (``_plan_each``, each spending what the ones
before it reserved): a payout that raises alone is failed (a ``ValueError``: its own values
are wrong) or blocked with ``engine_error:<type>`` (anything else: retried later, visible,
cancellable), and the rest go on. When every payout of the round raises (or the only one
does and reading the hot wallet's state fails too) the error is the engine's own: it
propagates to the step guard, which reports the stall.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.fees import PlanItem
from tronpay.engine.metrics import PAYOUT_EVENTS
from tronpay.engine.planner import TRX, USDT, BlockReason, Decision, PayoutRequest, Reserved
from tronpay.engine.signing import SignedTx, ToSign, sign_each
from tronpay.kit.clock import utcnow
from tronpay.kit.money import Sun, TokenUnits
from tronpay.tron.node import NodeError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Prepared:
    blocked: dict[str, str]
    failed: dict[str, str]
    signed: list[SignedTx]
    versions: dict[str, int]


ENGINE_ERROR_PREFIX = "engine_error:"
INVALID_PAYOUT_PREFIX = "invalid_payout:"


@dataclass(frozen=True)
class SubmitResult:
    claimed: int
    submitted: tuple[SignedTx, ...]
    blocked: int
    failed: int


async def _prepare(
    ctx: EngineContext,
    claimed: list[repo.ClaimedPayout],
    reserved: Reserved,
    upcoming: list[str],
) -> Prepared:
    versions = {c.id: c.version for c in claimed}
    memos = {c.id: c.memo for c in claimed}
    requests = [
        PayoutRequest(
            payout_id=c.id,
            asset=c.asset,
            to_address=c.to_address,
            amount=c.amount,
            memo_bytes=len((c.memo or "").encode("utf-8")),
            retry_out_of_energy=c.retry_out_of_energy,
        )
        for c in claimed
    ]
    t0 = time.monotonic()
    try:
        items, ref = await asyncio.gather(_plan(ctx, requests, reserved), ctx.node.now_block())
        # the next round's blacklist questions overlap this round's signing and commit
        ctx.planner.prefetch_listed(upcoming)
    except NodeError as exc:
        log.warning("engine.plan.node_error", error=exc.detail, payouts=len(claimed))
        reason = BlockReason.NODE_UNAVAILABLE.value
        return Prepared({c.id: reason for c in claimed}, {}, [], versions)
    blocked = {i.payout_id: str(i.reason) for i in items if i.decision is Decision.BLOCK}
    failed = {i.payout_id: str(i.reason) for i in items if i.decision is Decision.FAIL}
    sends = [i for i in items if i.decision is Decision.SEND]
    t_plan = time.monotonic() - t0
    signed: list[SignedTx] = []
    if sends and ref is not None:
        to_sign = [ToSign(i.payout_id, i.quote, memos.get(i.payout_id)) for i in sends if i.quote]
        batch = await asyncio.to_thread(
            sign_each,
            to_sign,
            ref_block=ref,
            signer=ctx.signer,
            token_contract=ctx.token_contract,
            expiration_s=ctx.config.tx_expiration_s,
        )
        signed = batch.signed
        failed.update(batch.unbuildable)
    log.info(
        "engine.plan.done",
        payouts=len(claimed),
        send=len(signed),
        plan_s=round(t_plan, 3),
        sign_s=round(time.monotonic() - t0 - t_plan, 3),
    )
    return Prepared(blocked, failed, signed, versions)


async def _plan(
    ctx: EngineContext, requests: Sequence[PayoutRequest], reserved: Reserved
) -> list[PlanItem]:
    """The round's plan; one payout at a time when planning them together raises something
    that is neither a node nor a database error (see the module docstring)."""
    try:
        plan = await ctx.planner.plan(requests, reserved)
    except (NodeError, SQLAlchemyError):
        raise
    except Exception as exc:
        log.warning("engine.plan.isolating", error=type(exc).__name__, payouts=len(requests))
        return await _plan_each(ctx, requests, reserved, exc)
    return list(plan.items)


async def _plan_each(
    ctx: EngineContext,
    requests: Sequence[PayoutRequest],
    reserved: Reserved,
    first_error: Exception,
) -> list[PlanItem]:
    items: list[PlanItem] = []
    errors = 0
    running = reserved
    for req in requests:
        try:
            plan = await ctx.planner.plan([req], running)
        except (NodeError, SQLAlchemyError):
            raise
        except Exception as exc:
            errors += 1
            items.append(_isolated(req, exc))
            continue
        for item in plan.items:
            items.append(item)
            if item.decision is Decision.SEND and item.quote is not None:
                running = _reserve(running, item)
    if errors == len(requests):
        if len(requests) > 1:
            raise first_error  # every payout fails alike: the engine's error, not theirs
        # one payout alone: it is the payout's fault only if the shared part of planning
        # (the hot wallet's state) still works
        await ctx.planner.wallet_state(reserved)
    return items


def _isolated(req: PayoutRequest, exc: Exception) -> PlanItem:
    """The plan item of a payout that made planning raise when planned alone."""
    name = type(exc).__name__
    log.error("engine.plan.payout_error", payout_id=req.payout_id, error=name)
    if isinstance(exc, ValueError):
        return PlanItem(req.payout_id, Decision.FAIL, reason=f"{INVALID_PAYOUT_PREFIX}{name}")
    return PlanItem(req.payout_id, Decision.BLOCK, reason=f"{ENGINE_ERROR_PREFIX}{name}")


def _reserve(reserved: Reserved, item: PlanItem) -> Reserved:
    """``reserved`` plus what the attempt of a planned SEND will hold (as
    ``repository.reserved_by_live_attempts`` would count it once committed)."""
    quote = item.quote
    if quote is None:
        return reserved
    if quote.asset == USDT:
        return replace(
            reserved,
            trx_sun=Sun(reserved.trx_sun + quote.fee_limit_sun),
            token_units=TokenUnits(reserved.token_units + quote.amount),
            tx_count=reserved.tx_count + 1,
            fee_limit_sun=Sun(reserved.fee_limit_sun + quote.fee_limit_sun),
        )
    if quote.asset == TRX:
        return replace(
            reserved,
            trx_sun=Sun(reserved.trx_sun + quote.amount),
            tx_count=reserved.tx_count + 1,
            trx_transfers=reserved.trx_transfers + 1,
        )
    return reserved


async def _write(ctx: EngineContext, session: AsyncSession, prep: Prepared) -> list[SignedTx]:
    now = utcnow()
    lock = ctx.postgres
    if prep.blocked:
        await repo.block_payouts(session, prep.blocked, prep.versions, now=now, lock=lock)
    if prep.failed:
        await repo.fail_payouts(
            session, prep.failed, prep.versions, now=now, lock=lock, policy=ctx.policy
        )
    if not prep.signed:
        return []
    return await repo.persist_signed(
        session, prep.signed, prep.versions, now=now, lock=lock, policy=ctx.policy
    )


async def _upcoming(
    ctx: EngineContext, session: AsyncSession, claimed: int, blocked_before: datetime
) -> list[str]:
    """Recipients of the next round, when this one is full (a backlog)."""
    if claimed < ctx.config.batch_size:
        return []
    return await repo.next_queued_recipients(
        session, skip=claimed, limit=ctx.config.batch_size, blocked_before=blocked_before
    )


async def submit_once(ctx: EngineContext) -> SubmitResult:
    """One claim-to-commit round. The returned attempts are committed and may be broadcast."""
    cfg = ctx.config
    blocked_before = utcnow() - timedelta(seconds=cfg.blocked_retry_s)
    if ctx.postgres:
        async with ctx.write() as session:
            if not await ctx.try_plan_lock(session):
                return SubmitResult(0, (), 0, 0)
            claimed = await repo.claim_queued(
                session, limit=cfg.batch_size, blocked_before=blocked_before, skip_locked=True
            )
            if not claimed:
                return SubmitResult(0, (), 0, 0)
            reserved = await repo.reserved_by_live_attempts(session)
            upcoming = await _upcoming(ctx, session, len(claimed), blocked_before)
            prep = await _prepare(ctx, claimed, reserved, upcoming)
            kept = await _write(ctx, session, prep)
    else:
        async with ctx.read() as session:
            claimed = await repo.claim_queued(
                session, limit=cfg.batch_size, blocked_before=blocked_before, skip_locked=False
            )
            if not claimed:
                return SubmitResult(0, (), 0, 0)
            reserved = await repo.reserved_by_live_attempts(session)
            upcoming = await _upcoming(ctx, session, len(claimed), blocked_before)
        prep = await _prepare(ctx, claimed, reserved, upcoming)
        async with ctx.write() as session:
            kept = await _write(ctx, session, prep)
    PAYOUT_EVENTS.labels("submitted").inc(len(kept))
    PAYOUT_EVENTS.labels("blocked").inc(len(prep.blocked))
    PAYOUT_EVENTS.labels("failed").inc(len(prep.failed))
    if kept:
        log.info("engine.submit.committed", attempts=len(kept), claimed=len(claimed))
    return SubmitResult(len(claimed), tuple(kept), len(prep.blocked), len(prep.failed))
