"""Payout use cases: create, read, list, cancel, approve, retry. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.audit import record as audit_record
from tronpay.errors import Conflict, Forbidden, NotFound
from tronpay.kit.ids import new_id
from tronpay.kit.money import format_amount
from tronpay.kit.pagination import Cursor, Page
from tronpay.payouts import repository
from tronpay.payouts.events import emit, payout_snapshot
from tronpay.payouts.models import Payout
from tronpay.payouts.recipients import ContractDirectory, refuse_known
from tronpay.payouts.repository import PayoutFilters
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.states import CANCELLABLE, Actor, InvalidTransition, PayoutStatus, transition
from tronpay.policy import PolicyService

log = structlog.get_logger(__name__)

PAYOUTS_TABLE: Table = Payout.__table__  # type: ignore[assignment]


# Column name -> mapped attribute name (``metadata`` is stored from ``Payout.meta``).
_ATTRIBUTE_OF: Final[dict[str, str]] = {
    column.name: attr.key for attr in Payout.__mapper__.column_attrs for column in attr.columns
}


def payout_row(payout: Payout) -> dict[str, object]:
    """Column values of a new payout, keyed by column name (for Core inserts)."""
    return {name: getattr(payout, key) for name, key in _ATTRIBUTE_OF.items()}


def payout_from_row(row: dict[str, Any]) -> Payout:
    """A transient ``Payout`` from the column values of ``payout_row`` / ``prepare_payout``."""
    return Payout(**{key: row[name] for name, key in _ATTRIBUTE_OF.items()})


def json_datetime(moment: datetime) -> str:
    """A UTC datetime as the API writes it (the same text pydantic produces)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    title = "No such payout"


class DuplicateReference(Conflict):
    code = "duplicate_reference"
    title = "A payout with this reference already exists"


class ApproverIsCreator(Forbidden):
    code = "approver_is_creator"
    title = "The creator of a payout cannot approve it"


class ApproverIsRetrier(Forbidden):
    code = "approver_is_retrier"
    title = "Whoever retried a payout cannot approve the retry"


class NotPendingApproval(InvalidTransition):
    code = "not_pending_approval"
    title = "The payout is not waiting for approval"


class NotCancellable(InvalidTransition):
    code = "not_cancellable"
    title = "The payout can no longer be cancelled"


class NotRetryable(InvalidTransition):
    code = "not_retryable"
    title = "Only a failed payout can be retried"


@dataclass(frozen=True, slots=True)
class PayoutContext:
    """What the service needs from the app: policy, the hot wallet address, the token
    contract and (with a node) the directory that knows which addresses are contracts."""

    policy: PolicyService
    hot_wallet_address: str | None = None
    token_contract: str | None = None
    contracts: ContractDirectory | None = None


def check_recipient(
    to_address: str,
    hot_wallet_address: str | None,
    *,
    asset: str | None = None,
    token_contract: str | None = None,
) -> None:
    """Refuse a destination that can never receive ``asset`` (``payouts/recipients.py``)."""
    refuse_known(to_address, asset, hot_wallet=hot_wallet_address, token_contract=token_contract)


async def check_contract(ctx: PayoutContext, to_address: str, asset: str) -> None:
    """Refuse TRX to an address the node knows as a smart contract (no node: the engine
    checks before signing)."""
    if ctx.contracts is not None:
        await ctx.contracts.refuse_contract(to_address, asset)


def new_payout(
    ctx: PayoutContext,
    data: PayoutCreate,
    *,
    actor: Actor,
    idempotency_key: str | None,
    now: datetime,
) -> Payout:
    """The payout a create request asks for, decided in full before anything is written
    (``prepare_payout``'s row as a transient ORM object)."""
    prepared = prepare_payout(ctx, data, actor=actor, idempotency_key=idempotency_key, now=now)
    return payout_from_row(prepared.row)


@dataclass(frozen=True, slots=True)
class PreparedPayout:
    """A create request decided in full before anything is written.

    ``row``: every column of the new ``payouts`` row (for a Core insert); ``body``: the 201
    response (``PayoutOut`` as JSON, built without pydantic on the hot path); ``snapshot``:
    what the outbox event and the audit entry carry (``payout_snapshot``'s shape).
    """

    row: dict[str, Any]
    body: dict[str, Any]
    snapshot: dict[str, Any]

    @property
    def id(self) -> str:
        payout_id: str = self.row["id"]
        return payout_id


def prepare_payout(
    ctx: PayoutContext,
    data: PayoutCreate,
    *,
    actor: Actor,
    idempotency_key: str | None,
    now: datetime,
) -> PreparedPayout:
    """A create request decided in full: the row, the 201 response and the snapshot."""
    amount = data.amount_units
    asset = data.asset.value
    check_recipient(data.to, ctx.hot_wallet_address, asset=asset, token_contract=ctx.token_contract)
    status = (
        PayoutStatus.PENDING_APPROVAL.value
        if ctx.policy.needs_approval(asset, amount)
        else PayoutStatus.QUEUED.value
    )
    payout_id = new_id("po")
    amount_text = format_amount(amount)
    stamp = json_datetime(now)
    row: dict[str, Any] = dict.fromkeys(_ATTRIBUTE_OF)
    row.update(
        id=payout_id,
        client=actor.principal,
        reference=data.reference,
        to_address=data.to,
        asset=asset,
        amount=amount,
        memo=data.memo,
        metadata=data.metadata,
        status=status,
        created_by=actor.principal,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
        attempt_count=0,
        version=1,
    )
    snapshot: dict[str, Any] = {
        "id": payout_id,
        "status": status,
        "to": data.to,
        "asset": asset,
        "amount": amount_text,
        "reference": data.reference,
        "batch_id": None,
        "blocked_reason": None,
        "failure_reason": None,
        "created_by": actor.principal,
        "approved_by": None,
        "txid": None,
    }
    body: dict[str, Any] = {
        "id": payout_id,
        "status": status,
        "to": data.to,
        "asset": asset,
        "amount": amount_text,
        "reference": data.reference,
        "memo": data.memo,
        "metadata": data.metadata,
        "blocked_reason": None,
        "failure_reason": None,
        "batch_id": None,
        "created_by": actor.principal,
        "approved_by": None,
        "txid": None,
        "fee_limit": None,
        "fee_paid": None,
        "energy_used": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    return PreparedPayout(row=row, body=body, snapshot=snapshot)


def pending_approval(prepared: PreparedPayout) -> PreparedPayout:
    """``prepared`` as a payout that waits for approval: the policy check found that the
    destination's rolling sum reaches its approval threshold, which the create request could
    not know before the totals were read."""
    pending = PayoutStatus.PENDING_APPROVAL.value
    return PreparedPayout(
        row={**prepared.row, "status": pending},
        body={**prepared.body, "status": pending},
        snapshot={**prepared.snapshot, "status": pending},
    )


async def create_prepared(
    session: AsyncSession,
    ctx: PayoutContext,
    prepared: PreparedPayout,
    *,
    actor: Actor,
    now: datetime,
) -> PreparedPayout:
    """``create_payout`` for a ``PreparedPayout`` (the one-at-a-time path of the writer).
    Returns what was written (``pending_approval`` when the check asked for approval)."""
    row = await _persist(session, ctx, prepared.row, prepared.snapshot, actor=actor, now=now)
    if row["status"] != prepared.row["status"]:
        return pending_approval(prepared)
    return prepared


async def create_payout(
    session: AsyncSession,
    ctx: PayoutContext,
    payout: Payout,
    *,
    actor: Actor,
    now: datetime,
) -> Payout:
    """Persist a payout made by ``new_payout``: row, outbox event, policy reservation and
    audit entry, in the caller's transaction. Raises ``DuplicateReference`` or a
    ``PolicyViolation`` (the caller rolls back)."""
    row = await _persist(
        session, ctx, payout_row(payout), payout_snapshot(payout), actor=actor, now=now
    )
    payout.status = row["status"]
    return payout


async def _persist(
    session: AsyncSession,
    ctx: PayoutContext,
    row: dict[str, Any],
    snapshot: dict[str, Any],
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Write the payout; returns its row as written (the status may have become
    ``pending_approval`` through the destination's rolling approval threshold)."""
    # A Core insert (the hot path; the unit of work adds nothing for one new row). The unique
    # (client, reference) constraint is the duplicate check: no SELECT before it.
    connection = await session.connection()
    try:
        await connection.execute(insert(PAYOUTS_TABLE), [row])
    except IntegrityError as exc:
        raise DuplicateReference(f"reference {row['reference']!r} is already used") from exc
    payout_id: str = row["id"]
    # The two serializing steps (the policy's per-asset lock, the audit chain head) come
    # last, so the locks are held for as short a time as possible before the commit.
    decision = await ctx.policy.check_and_reserve(
        session,
        payout_id=payout_id,
        asset=row["asset"],
        destination=row["to_address"],
        amount=row["amount"],
        now=now,
    )
    pending = row["status"] == PayoutStatus.PENDING_APPROVAL.value
    if pending and not decision.needs_approval:
        raise RuntimeError("policy decision disagrees with its approval threshold")
    if decision.needs_approval and not pending:
        await repository.mark_pending_approval(session, [payout_id])
        row = {**row, "status": PayoutStatus.PENDING_APPROVAL.value}
        snapshot = {**snapshot, "status": PayoutStatus.PENDING_APPROVAL.value}
    await emit(session, topic="payout.created", entity_id=payout_id, data=snapshot, now=now)
    await audit_record(
        session,
        action="payout.create",
        principal=actor.principal,
        request_id=actor.request_id,
        entity_type="payout",
        entity_id=payout_id,
        before=None,
        after=snapshot,
    )
    log.info("payout.created", payout_id=payout_id, status=row["status"], asset=row["asset"])
    return row


async def get_payout(session: AsyncSession, payout_id: str, *, for_update: bool = False) -> Payout:
    payout = await repository.get(session, payout_id, for_update=for_update)
    if payout is None:
        raise PayoutNotFound(f"payout {payout_id[:64]!r} does not exist")
    return payout


async def list_payouts(
    session: AsyncSession, filters: PayoutFilters, *, limit: int, cursor: str | None
) -> Page[Payout]:
    return await repository.list_page(
        session, filters, limit=limit, cursor=Cursor.decode(cursor) if cursor else None
    )


async def cancel_payout(
    session: AsyncSession, ctx: PayoutContext, payout_id: str, *, actor: Actor, now: datetime
) -> Payout:
    payout = await get_payout(session, payout_id, for_update=True)
    if PayoutStatus(payout.status) not in CANCELLABLE:
        raise NotCancellable(
            f"a payout in status {payout.status!r} cannot be cancelled",
            current_status=payout.status,
        )
    await transition(
        session, payout, PayoutStatus.CANCELLED, actor=actor, action="payout.cancel", now=now
    )
    await ctx.policy.release(session, payout.id)
    return payout


async def approve_payout(
    session: AsyncSession, payout_id: str, *, actor: Actor, now: datetime
) -> Payout:
    payout = await get_payout(session, payout_id, for_update=True)
    if payout.status != PayoutStatus.PENDING_APPROVAL.value:
        raise NotPendingApproval(
            f"a payout in status {payout.status!r} does not need approval",
            current_status=payout.status,
        )
    if payout.created_by == actor.principal:
        raise ApproverIsCreator("a second person must approve this payout")
    if await repository.last_retrier(session, payout.id) == actor.principal:
        # Four eyes hold for a retry too: whoever asked to send it again may not approve it.
        raise ApproverIsRetrier("a second person must approve the retry of this payout")
    await transition(
        session,
        payout,
        PayoutStatus.QUEUED,
        actor=actor,
        action="payout.approve",
        now=now,
        approved_by=actor.principal,
    )
    return payout


async def retry_payout(
    session: AsyncSession, ctx: PayoutContext, payout_id: str, *, actor: Actor, now: datetime
) -> Payout:
    payout = await get_payout(session, payout_id, for_update=True)
    if payout.status != PayoutStatus.FAILED.value:
        raise NotRetryable(
            f"a payout in status {payout.status!r} cannot be retried",
            current_status=payout.status,
        )
    decision = await ctx.policy.check_and_reserve(
        session,
        payout_id=payout.id,
        asset=payout.asset,
        destination=payout.to_address,
        amount=payout.amount,
        now=now,
    )
    new = PayoutStatus.PENDING_APPROVAL if decision.needs_approval else PayoutStatus.QUEUED
    await transition(
        session,
        payout,
        new,
        actor=actor,
        action=repository.RETRY_ACTION,
        now=now,
        failure_reason=None,
        approved_by=None,
        txid=None,
    )
    return payout
