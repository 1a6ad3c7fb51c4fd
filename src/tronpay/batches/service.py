"""Batch intake: validate all-or-nothing, reserve policy in bulk, insert in one transaction.

Every payout of a batch is made by ``payouts.service.prepare_payout`` (as a single create is)
and inserted by ``payouts.repository``. A 10,000-row batch costs one policy lock and one set
of sums per asset, one bulk insert of payouts, one of outbox events, and the audit entries
(the batch's and one per payout) under one lock of the chain head.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.audit import AuditRecord, record_many
from tronpay.batches.errors import BatchInvalid, BatchNotFound
from tronpay.batches.models import Batch
from tronpay.batches.parsing import ParsedBatch
from tronpay.batches.progress import batch_totals
from tronpay.batches.schemas import BatchOut, RowError, StatusSummary
from tronpay.errors import ValidationFailed
from tronpay.kit.ids import new_id
from tronpay.kit.money import format_amount
from tronpay.observability import metrics
from tronpay.payouts import repository as payout_repository
from tronpay.payouts.errors import RecipientIsContract
from tronpay.payouts.events import emit_many, outbox_row
from tronpay.payouts.service import PayoutContext, check_recipient, prepare_payout
from tronpay.payouts.states import Actor, PayoutStatus
from tronpay.policy import PolicyViolation, ReservationRequest

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch: Batch
    summary: list[StatusSummary]


def _raise_if_errors(errors: list[RowError]) -> None:
    if errors:
        errors.sort(key=lambda e: (e.row, e.column or ""))
        raise BatchInvalid(
            f"{len(errors)} problem(s) in the batch; nothing was created",
            errors=[e.model_dump() for e in errors],
        )


async def create_batch(
    session: AsyncSession,
    ctx: PayoutContext,
    parsed: ParsedBatch,
    *,
    source: str,
    actor: Actor,
    idempotency_key: str | None,
    now: datetime,
) -> BatchResult:
    errors = list(parsed.errors)
    for item, row in zip(parsed.items, parsed.rows, strict=True):
        try:
            check_recipient(
                item.to,
                ctx.hot_wallet_address,
                asset=item.asset.value,
                token_contract=ctx.token_contract,
            )
        except ValidationFailed as exc:
            errors.append(RowError(row=row, column="to", reason=exc.code, message=exc.detail))
    if ctx.contracts is not None:
        trx_to = [item.to for item in parsed.items if item.asset.value == "TRX"]
        contracts = await ctx.contracts.contracts_among(trx_to) if trx_to else set()
        for item, row in zip(parsed.items, parsed.rows, strict=True):
            if item.asset.value == "TRX" and item.to in contracts:
                errors.append(
                    RowError(
                        row=row,
                        column="to",
                        reason=RecipientIsContract.code,
                        message="the destination is a smart contract",
                    )
                )
    references = [item.reference for item in parsed.items if item.reference is not None]
    taken = await payout_repository.existing_references(session, actor.tenant, references)
    if taken:
        for item, row in zip(parsed.items, parsed.rows, strict=True):
            if item.reference in taken:
                errors.append(
                    RowError(
                        row=row,
                        column="reference",
                        reason="duplicate_reference",
                        message="a payout with this reference already exists",
                    )
                )
    _raise_if_errors(errors)

    batch = Batch(
        id=new_id("ba"),
        tenant=actor.tenant,
        client=actor.principal,
        created_by=actor.principal,
        source=source,
        item_count=len(parsed.items),
        idempotency_key=idempotency_key,
        created_at=now,
    )
    prepared = [
        prepare_payout(ctx, item, actor=actor, idempotency_key=None, now=now, batch_id=batch.id)
        for item in parsed.items
    ]
    payout_rows = [p.row for p in prepared]
    pending = PayoutStatus.PENDING_APPROVAL.value
    # The rows first, then the policy's asset locks, then the audit head: the lock order of
    # every create path (a reference index entry is never awaited while holding a policy lock).
    session.add(batch)
    await session.flush()
    await payout_repository.add_batch(session, payout_rows)
    decisions = await ctx.policy.check_and_reserve_many(
        session,
        [
            ReservationRequest(
                payout_id=r["id"], asset=r["asset"], destination=r["to_address"], amount=r["amount"]
            )
            for r in payout_rows
        ],
        now=now,
        new_payouts=True,
    )
    to_approve: list[int] = []
    for index, (decision, row, payout_row) in enumerate(
        zip(decisions, parsed.rows, payout_rows, strict=True)
    ):
        if isinstance(decision, PolicyViolation):
            errors.append(
                RowError(row=row, column="amount", reason=decision.code, message=decision.detail)
            )
        elif payout_row["status"] == pending and not decision.needs_approval:
            raise RuntimeError("policy decision disagrees with its approval threshold")
        elif decision.needs_approval and payout_row["status"] != pending:
            # the destination's rolling sum (earlier rows included) reached its threshold
            to_approve.append(index)
    # A violation leaves the transaction with rows and reservations: raising here rolls all
    # of it back (all-or-nothing).
    _raise_if_errors(errors)
    if to_approve:
        await payout_repository.mark_pending_approval(
            session, [prepared[index].id for index in to_approve]
        )
        for index in to_approve:
            prepared[index] = prepared[index].pending_approval()
        payout_rows = [p.row for p in prepared]

    snapshots = [p.snapshot for p in prepared]
    await emit_many(
        session,
        (outbox_row("payout.created", snap["id"], snap, now) for snap in snapshots),
    )
    summary = _summarize_rows(payout_rows)
    audit_items = [
        AuditRecord(
            action="batch.create",
            principal=actor.principal,
            request_id=actor.request_id,
            entity_type="batch",
            entity_id=batch.id,
            after={
                "id": batch.id,
                "source": source,
                "item_count": batch.item_count,
                "summary": [s.model_dump() for s in summary],
            },
            tenant=actor.tenant,
        )
    ]
    audit_items.extend(
        AuditRecord(
            action="payout.create",
            principal=actor.principal,
            request_id=actor.request_id,
            entity_type="payout",
            entity_id=snap["id"],
            after=snap,
            tenant=actor.tenant,
        )
        for snap in snapshots
    )
    await record_many(session, audit_items, now=now)
    log.info("batch.created", batch_id=batch.id, items=batch.item_count, source=source)
    for asset, count in Counter(row["asset"] for row in payout_rows).items():
        metrics.payouts_created(asset, count)
    return BatchResult(batch=batch, summary=summary)


def _summarize_rows(rows: list[dict[str, Any]]) -> list[StatusSummary]:
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for r in rows:
        key = (r["status"], r["asset"])
        count, amount = totals.get(key, (0, 0))
        totals[key] = (count + 1, amount + r["amount"])
    return [
        StatusSummary(status=s, asset=a, count=c, amount=format_amount(t))
        for (s, a), (c, t) in sorted(totals.items())
    ]


async def get_batch(session: AsyncSession, tenant: str, batch_id: str) -> BatchResult:
    """The batch of ``tenant`` and its progress (another tenant's batch is not found)."""
    batch = await session.get(Batch, batch_id)
    if batch is None or batch.tenant != tenant:
        raise BatchNotFound(f"batch {batch_id[:64]!r} does not exist")
    summary = [
        StatusSummary(status=t.status, asset=t.asset, count=t.count, amount=format_amount(t.amount))
        for t in await batch_totals(session, batch_id)
    ]
    return BatchResult(batch=batch, summary=summary)


def batch_out(result: BatchResult) -> BatchOut:
    batch = result.batch
    return BatchOut(
        id=batch.id,
        source=batch.source,
        item_count=batch.item_count,
        created_by=batch.created_by,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        summary=result.summary,
    )
