"""The engine's side of staking operations, with the payouts' exactly-once rule.

- Sign once, persist first: a queued operation is built offline against a recent block,
  signed, and committed as ``signed`` (txid, raw bytes, signature, expiration) in the same
  transaction that moves it out of ``queued`` (compare-and-set: two engines never both sign
  it); only then is it broadcast. Rebroadcasts send the same bytes.
- Payouts come first: an operation that spends TRX (a stake, and every operation's
  bandwidth) waits with ``blocked_reason = insufficient_trx`` while the TRX it needs is held
  back for live payout attempts (their amounts and fee_limits).
- Unknown is not failed: a receipt decides ``confirmed`` or ``failed``; ``expired`` only
  once the solidified head is past the expiration plus the engine's margin and every
  configured node answered that it does not know the txid — ``failed`` instead when the
  chain's last answer was a validation refusal (``CONTRACT_VALIDATE_ERROR``, kept in
  ``error``). ``confirmed`` becomes ``finalized`` when the solidity node has the receipt.
- Crash point ``wallet_operation.signed`` (``kit/crash.py``): between the commit of the
  signed transactions and their first broadcast, for the SIGKILL tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.audit import service as audit
from tronpay.engine.context import EngineContext
from tronpay.engine.repository import reserved_by_live_attempts
from tronpay.kit.clock import utcnow
from tronpay.kit.crash import WALLET_OPERATION_SIGNED, crash_point
from tronpay.tron.errors import EncodeError
from tronpay.tron.node import BlockRef, BroadcastKind, TransactionInfo
from tronpay.tron.transaction import (
    RefBlock,
    build_cancel_all_unfreeze_v2,
    build_delegate_resource,
    build_freeze_v2,
    build_undelegate_resource,
    build_unfreeze_v2,
    build_withdraw_expire_unfreeze,
    encode_raw_data,
    encode_transaction,
    txid,
)
from tronpay.wallet.models import (
    LIVE_STATUSES,
    OperationKind,
    OperationStatus,
    WalletOperation,
)
from tronpay.wallet.operations import snapshot

log = structlog.get_logger(__name__)

BATCH = 20
OP_TX_BYTES = 400  # upper bound of a staking transaction's bandwidth (bytes + 64)
INSUFFICIENT_TRX = "insufficient_trx"
ENGINE_ACTOR = "engine"
# a refusal of the transaction itself (java-tron's actuator validation): once the transaction
# is proven dead the operation fails with it instead of merely expiring
REFUSED_PREFIX = "CONTRACT_VALIDATE_ERROR"


@dataclass(frozen=True)
class SignedOp:
    operation_id: str
    txid: str
    tx_bytes: bytes


def build_raw(op: WalletOperation, owner: str, ref: RefBlock, now_ms: int, exp_ms: int) -> bytes:
    """The raw_data bytes of an operation's transaction (``now_ms`` is its timestamp)."""
    times: dict[str, Any] = {"ref": ref, "timestamp_ms": now_ms, "expiration_ms": exp_ms}
    kind = OperationKind(op.kind)
    resource: Any = op.resource
    amount = op.amount or 0
    if kind is OperationKind.STAKE:
        raw = build_freeze_v2(owner, amount, resource, **times)
    elif kind is OperationKind.UNSTAKE:
        raw = build_unfreeze_v2(owner, amount, resource, **times)
    elif kind is OperationKind.WITHDRAW_UNSTAKED:
        raw = build_withdraw_expire_unfreeze(owner, **times)
    elif kind is OperationKind.CANCEL_UNSTAKES:
        raw = build_cancel_all_unfreeze_v2(owner, **times)
    elif kind is OperationKind.DELEGATE:
        raw = build_delegate_resource(
            owner,
            op.receiver or "",
            amount,
            resource,
            lock=op.lock,
            lock_period=op.lock_period or 0,
            **times,
        )
    else:
        raw = build_undelegate_resource(owner, op.receiver or "", amount, resource, **times)
    return encode_raw_data(raw)


class OperationsRunner:
    """One engine's staking-operation step: ``await runner.step()`` each upkeep tick."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._last_sent: dict[str, float] = {}  # operation id -> monotonic time of last send

    async def step(self) -> int:
        """Sign and send queued operations, then follow the live ones; how many were signed."""
        signed = await self._sign_queued()
        if signed:
            crash_point(WALLET_OPERATION_SIGNED)  # SIGKILL tests: committed, not yet sent
        for item in signed:
            await self._send(item)
        await self._follow()
        return len(signed)

    # -- signing -------------------------------------------------------------------------------

    async def _sign_queued(self) -> list[SignedOp]:
        ctx = self.ctx
        async with ctx.read() as session:
            queued = list(
                (
                    await session.scalars(
                        select(WalletOperation)
                        .where(WalletOperation.status == OperationStatus.QUEUED.value)
                        .order_by(WalletOperation.created_at, WalletOperation.id)
                        .limit(BATCH)
                    )
                ).all()
            )
            session.expunge_all()  # keep the loaded values after the read transaction ends
        if not queued:
            return []
        hot = ctx.signer.address
        head, account, params = await _gather(ctx, hot)
        out: list[SignedOp] = []
        for op in queued:
            async with ctx.write() as session:
                if not await ctx.try_plan_lock(session):
                    break  # another engine is planning: next round
                spendable = account - await _held(session)
                cost = (op.amount or 0) if op.kind == OperationKind.STAKE else 0
                cost += OP_TX_BYTES * params
                if cost > spendable:
                    await _set_blocked(session, op, INSUFFICIENT_TRX)
                    continue
                try:
                    item = await self._persist_signed(session, op, head)
                except EncodeError as exc:
                    # nothing was signed: the operation can never be built, so it fails now
                    await _fail_unsigned(session, op, f"cannot build the transaction: {exc}")
                    continue
                if item is None:
                    continue
                account -= cost
            out.append(item)
        return out

    async def _persist_signed(
        self, session: AsyncSession, op: WalletOperation, head: BlockRef
    ) -> SignedOp | None:
        ctx = self.ctx
        now_ms = max(head.timestamp, int(time.time() * 1000))
        exp_ms = now_ms + ctx.config.tx_expiration_s * 1000
        raw = build_raw(
            op,
            ctx.signer.address,
            RefBlock.from_block(head.number, head.id),
            now_ms,
            exp_ms,
        )
        tid = txid(raw)
        signature = ctx.signer.sign(tid)
        now = utcnow()
        moved = await session.execute(
            update(WalletOperation)
            .where(
                WalletOperation.id == op.id,
                WalletOperation.status == OperationStatus.QUEUED.value,
            )
            .values(
                status=OperationStatus.SIGNED.value,
                txid=tid.hex(),
                raw_data=raw,
                signature=signature,
                expiration_ms=exp_ms,
                attempts=op.attempts + 1,
                blocked_reason=None,
                updated_at=now,
            )
        )
        if getattr(moved, "rowcount", 0) != 1:
            return None  # another engine took it
        after = {**snapshot(op), "status": OperationStatus.SIGNED.value, "txid": tid.hex()}
        await audit.record(
            session,
            action=f"wallet.{op.kind}.signed",
            principal=ENGINE_ACTOR,
            request_id=None,
            entity_type="wallet_operation",
            entity_id=op.id,
            before=snapshot(op),
            after=after,
            now=now,
        )
        log.info("wallet.operation.signed", operation_id=op.id, kind=op.kind, txid=tid.hex())
        return SignedOp(op.id, tid.hex(), encode_transaction(raw, [signature]))

    # -- broadcasting and following ------------------------------------------------------------

    async def _send(self, item: SignedOp) -> None:
        self._last_sent[item.operation_id] = time.monotonic()
        outcome = await self.ctx.node.broadcast_hex(item.tx_bytes, item.txid)
        log.info(
            "wallet.operation.broadcast",
            operation_id=item.operation_id,
            txid=item.txid,
            kind=outcome.kind.value,
            code=outcome.code,
        )
        async with self.ctx.write() as session:
            if outcome.kind in (BroadcastKind.ACCEPTED, BroadcastKind.KNOWN):
                await session.execute(
                    update(WalletOperation)
                    .where(
                        WalletOperation.id == item.operation_id,
                        WalletOperation.status == OperationStatus.SIGNED.value,
                    )
                    .values(
                        status=OperationStatus.BROADCAST.value,
                        broadcast_at=utcnow(),
                        updated_at=utcnow(),
                        error=None,  # an earlier refusal no longer describes it
                    )
                )
            elif outcome.kind in (BroadcastKind.DEAD, BroadcastKind.BUG, BroadcastKind.HOLD):
                # refused now; only the expiry rule may call it dead (it proves nothing alone)
                error = f"{outcome.code}: {outcome.message}"[:500]
                await session.execute(
                    update(WalletOperation)
                    .where(WalletOperation.id == item.operation_id)
                    .values(error=error, updated_at=utcnow())
                )

    async def _follow(self) -> None:
        ctx = self.ctx
        async with ctx.read() as session:
            live = list(
                (
                    await session.scalars(
                        select(WalletOperation).where(
                            WalletOperation.status.in_(
                                (*LIVE_STATUSES, OperationStatus.CONFIRMED.value)
                            )
                        )
                    )
                ).all()
            )
            session.expunge_all()
        solid: BlockRef | None = None
        for op in live:
            if op.txid is None or op.raw_data is None or op.signature is None:
                continue
            if op.status == OperationStatus.CONFIRMED.value:
                if await ctx.node.transaction_info(op.txid, solid=True) is not None:
                    await self._move(op, OperationStatus.FINALIZED)
                continue
            info = await ctx.node.transaction_info(op.txid)
            if info is not None:
                await self._receipt(op, info)
                continue
            solid = solid or await ctx.node.solid_block()
            margin_ms = ctx.config.expiry_margin_s * 1000
            if solid.timestamp > (op.expiration_ms or 0) + margin_ms:
                presence = await ctx.node.txid_presence(op.txid)
                if presence.proven_unknown:
                    if (op.error or "").startswith(REFUSED_PREFIX):
                        # no block took it because the chain refused it: that is its outcome
                        await self._move(op, OperationStatus.FAILED, error=op.error)
                    else:
                        await self._move(op, OperationStatus.EXPIRED)
                continue
            last = self._last_sent.get(op.id, 0.0)
            if time.monotonic() - last >= ctx.config.rebroadcast_interval_s:
                tx_bytes = encode_transaction(op.raw_data, [op.signature])
                await self._send(SignedOp(op.id, op.txid, tx_bytes))

    async def _receipt(self, op: WalletOperation, info: TransactionInfo) -> None:
        if info.success:
            await self._move(
                op,
                OperationStatus.CONFIRMED,
                fee_paid=info.fee_sun,
                block_number=info.block_number,
            )
            return
        reason = info.res_message or info.receipt_result or "FAILED"
        await self._move(
            op,
            OperationStatus.FAILED,
            fee_paid=info.fee_sun,
            block_number=info.block_number,
            error=reason[:500],
        )

    async def _move(self, op: WalletOperation, status: OperationStatus, **values: Any) -> None:
        now = utcnow()
        async with self.ctx.write() as session:
            moved = await session.execute(
                update(WalletOperation)
                .where(WalletOperation.id == op.id, WalletOperation.status == op.status)
                .values(status=status.value, updated_at=now, **values)
            )
            if getattr(moved, "rowcount", 0) != 1:
                return
            await audit.record(
                session,
                action=f"wallet.{op.kind}.{status.value}",
                principal=ENGINE_ACTOR,
                request_id=None,
                entity_type="wallet_operation",
                entity_id=op.id,
                before=snapshot(op),
                after={**snapshot(op), "status": status.value},
                now=now,
            )
        if status is not OperationStatus.CONFIRMED:
            self._last_sent.pop(op.id, None)
        log.info("wallet.operation.moved", operation_id=op.id, status=status.value)


async def _gather(ctx: EngineContext, hot: str) -> tuple[BlockRef, int, int]:
    head = await ctx.node.now_block()
    account = await ctx.node.account(hot)
    params = await ctx.node.chain_parameters()
    return head, account.balance_sun, params.transaction_fee_sun


async def _held(session: AsyncSession) -> int:
    """TRX (sun) others may still take: live payout attempts (amounts and fee_limits) and
    live stake operations (their amounts)."""
    reserved = await reserved_by_live_attempts(session)
    staking = await session.scalar(
        select(func.coalesce(func.sum(WalletOperation.amount), 0)).where(
            WalletOperation.kind == OperationKind.STAKE.value,
            WalletOperation.status.in_(LIVE_STATUSES),
        )
    )
    return reserved.trx_sun + int(staking or 0)


async def _fail_unsigned(session: AsyncSession, op: WalletOperation, error: str) -> None:
    now = utcnow()
    await session.execute(
        update(WalletOperation)
        .where(
            WalletOperation.id == op.id,
            WalletOperation.status == OperationStatus.QUEUED.value,
        )
        .values(status=OperationStatus.FAILED.value, error=error[:500], updated_at=now)
    )
    await audit.record(
        session,
        action=f"wallet.{op.kind}.failed",
        principal=ENGINE_ACTOR,
        request_id=None,
        entity_type="wallet_operation",
        entity_id=op.id,
        before=snapshot(op),
        after={**snapshot(op), "status": OperationStatus.FAILED.value, "error": error[:500]},
        now=now,
    )
    log.warning("wallet.operation.unbuildable", operation_id=op.id, kind=op.kind)


async def _set_blocked(session: AsyncSession, op: WalletOperation, reason: str) -> None:
    if op.blocked_reason == reason:
        return
    await session.execute(
        update(WalletOperation)
        .where(
            WalletOperation.id == op.id,
            WalletOperation.status == OperationStatus.QUEUED.value,
        )
        .values(blocked_reason=reason, updated_at=utcnow())
    )
    log.info("wallet.operation.blocked", operation_id=op.id, reason=reason)
