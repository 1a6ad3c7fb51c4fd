"""Staking operations on the API side: queue one (audited, idempotent), read one, list them.

The API process holds no key: it records the operation as ``queued``; the engine signs it,
commits the signed transaction before its first broadcast, broadcasts it and follows it
(``wallet.executor``). Services only flush; the request's session commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.audit import service as audit
from tronpay.errors import NotFound, ValidationFailed
from tronpay.kit.ids import new_id
from tronpay.kit.pagination import Cursor
from tronpay.wallet.models import OperationKind, OperationStatus, WalletOperation

MAX_LOCK_PERIOD_BLOCKS = 864_000  # java-tron's getMaxDelegateLockPeriod default (30 days)


class OperationNotFound(NotFound):
    code = "wallet_operation_not_found"
    title = "No such wallet operation"


class InvalidOperation(ValidationFailed):
    code = "invalid_wallet_operation"
    title = "The wallet operation is not valid"


@dataclass(frozen=True)
class OperationRequest:
    """What a staking endpoint asks for (amounts in sun)."""

    kind: OperationKind
    resource: str | None = None
    amount_sun: int | None = None
    receiver: str | None = None
    lock: bool = False
    lock_period: int | None = None


@dataclass(frozen=True)
class Actor:
    subject: str
    request_id: str | None


@dataclass(frozen=True)
class OperationPage:
    items: tuple[WalletOperation, ...]
    next_cursor: str | None


def check(req: OperationRequest, *, hot_wallet: str) -> None:
    """Refuse what java-tron would refuse for sure (the chain checks the rest)."""
    needs_amount = req.kind in (
        OperationKind.STAKE,
        OperationKind.UNSTAKE,
        OperationKind.DELEGATE,
        OperationKind.UNDELEGATE,
    )
    if needs_amount and (req.amount_sun is None or req.amount_sun < 1_000_000):
        raise InvalidOperation("amount must be at least 1 TRX")
    if req.receiver is not None and req.receiver == hot_wallet:
        raise InvalidOperation("the hot wallet cannot delegate to itself")
    if req.lock_period is not None and not req.lock:
        raise InvalidOperation("lock_period needs lock: true")
    if req.lock_period is not None and not 0 < req.lock_period <= MAX_LOCK_PERIOD_BLOCKS:
        raise InvalidOperation(f"lock_period must be 1..{MAX_LOCK_PERIOD_BLOCKS} blocks")


async def queue(
    session: AsyncSession,
    req: OperationRequest,
    *,
    actor: Actor,
    idempotency_key: str,
    hot_wallet: str,
    now: datetime,
) -> WalletOperation:
    """Record the operation as ``queued`` with its audit entry (the caller commits)."""
    check(req, hot_wallet=hot_wallet)
    op = WalletOperation(
        id=new_id("wop"),
        kind=req.kind.value,
        resource=req.resource,
        amount=req.amount_sun,
        receiver=req.receiver,
        lock=req.lock,
        lock_period=req.lock_period,
        status=OperationStatus.QUEUED.value,
        created_by=actor.subject,
        idempotency_key=idempotency_key,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(op)
    await session.flush()
    await audit.record(
        session,
        action=f"wallet.{req.kind.value}.requested",
        principal=actor.subject,
        request_id=actor.request_id,
        entity_type="wallet_operation",
        entity_id=op.id,
        before=None,
        after=snapshot(op),
        now=now,
    )
    return op


def snapshot(op: WalletOperation) -> dict[str, object]:
    """The audited fields of an operation (no transaction bytes)."""
    return {
        "kind": op.kind,
        "status": op.status,
        "resource": op.resource,
        "amount": op.amount,
        "receiver": op.receiver,
        "lock": op.lock,
        "lock_period": op.lock_period,
        "txid": op.txid,
        "error": op.error,
    }


async def get(session: AsyncSession, operation_id: str) -> WalletOperation:
    op = await session.get(WalletOperation, operation_id)
    if op is None:
        raise OperationNotFound(f"no wallet operation {operation_id}")
    return op


async def list_operations(
    session: AsyncSession, *, status: str | None, limit: int, cursor: str | None
) -> OperationPage:
    """Newest first, cursor-paginated on (created_at, id)."""
    stmt = select(WalletOperation).order_by(
        WalletOperation.created_at.desc(), WalletOperation.id.desc()
    )
    if status is not None:
        stmt = stmt.where(WalletOperation.status == status)
    if cursor is not None:
        after = Cursor.decode(cursor)
        stmt = stmt.where(
            (WalletOperation.created_at < after.created_at)
            | ((WalletOperation.created_at == after.created_at) & (WalletOperation.id < after.id))
        )
    rows = list((await session.scalars(stmt.limit(limit + 1))).all())
    more = len(rows) > limit
    items = tuple(rows[:limit])
    next_cursor = Cursor(items[-1].created_at, items[-1].id).encode() if more and items else None
    return OperationPage(items=items, next_cursor=next_cursor)
