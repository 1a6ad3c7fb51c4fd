"""A batch's progress (counts and sums per status and asset) and its completion.

``complete_batches`` runs inside every payout transition that ends a payout (``finalized``,
``failed``, ``cancelled``), in the caller's transaction: when no payout of the batch is open
any more it sets ``batches.completed_at`` and writes one ``batch.completed`` outbox event.

Exactly once, with several engines on PostgreSQL: the batch row is locked (``FOR UPDATE``)
before its payouts are counted, so two transactions that end the batch's last two payouts
take turns; the second one counts after the first committed (READ COMMITTED: a new snapshot
per statement) and sees the batch complete. ``completed_at IS NULL`` in the UPDATE makes the
first transaction that sees it complete the only one that writes the event. On SQLite the
single writer serializes the same steps.

This module imports neither ``payouts.states`` nor ``batches.schemas`` (``payouts.states``
calls it; those two import ``payouts.states``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import structlog
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.batches.models import Batch
from tronpay.kit.clock import iso_utc
from tronpay.kit.money import format_amount
from tronpay.payouts.events import emit
from tronpay.payouts.models import Payout

log = structlog.get_logger(__name__)

BATCH_COMPLETED: Final = "batch.completed"
_BATCHES = cast(Table, Batch.__table__)
_PAYOUTS = cast(Table, Payout.__table__)


@dataclass(frozen=True, slots=True)
class StatusTotal:
    """One line of a batch's progress: how many payouts of ``asset`` are in ``status`` and
    the sum of their amounts (base units)."""

    status: str
    asset: str
    count: int
    amount: int


async def batch_totals(session: AsyncSession, batch_id: str) -> list[StatusTotal]:
    """Counts and sums of the batch's payouts per status and asset."""
    stmt = (
        select(_PAYOUTS.c.status, _PAYOUTS.c.asset, func.count(), func.sum(_PAYOUTS.c.amount))
        .where(_PAYOUTS.c.batch_id == batch_id)
        .group_by(_PAYOUTS.c.status, _PAYOUTS.c.asset)
        .order_by(_PAYOUTS.c.status, _PAYOUTS.c.asset)
    )
    return [
        StatusTotal(str(status), str(asset), int(count), int(total))
        for status, asset, count, total in (await session.execute(stmt)).all()
    ]


def batch_view(batch: Any, totals: Iterable[StatusTotal]) -> dict[str, Any]:
    """The batch as ``GET /v1/batches/{id}`` answers it (JSON types: amounts as decimal
    strings, times as ISO 8601 UTC). ``batch``: a ``Batch`` or a row with its columns."""
    completed: datetime | None = batch.completed_at
    return {
        "id": batch.id,
        "source": batch.source,
        "item_count": batch.item_count,
        "created_by": batch.created_by,
        "created_at": iso_utc(batch.created_at),
        "completed_at": None if completed is None else iso_utc(completed),
        "summary": [
            {
                "status": t.status,
                "asset": t.asset,
                "count": t.count,
                "amount": format_amount(t.amount),
            }
            for t in totals
        ],
    }


async def complete_batches(
    session: AsyncSession, batch_ids: Iterable[str], *, terminal: Collection[str], now: datetime
) -> list[str]:
    """Complete every batch of ``batch_ids`` that has no open payout left (none outside
    ``terminal``) and was not completed before: set ``completed_at`` and write its
    ``batch.completed`` event. Call it after the payouts' own changes, in their transaction.
    Returns the ids of the batches completed now."""
    done: list[str] = []
    # One lock order for every caller: batch ids sorted.
    for batch_id in sorted(set(batch_ids)):
        locked = await session.execute(
            select(_BATCHES.c.completed_at).where(_BATCHES.c.id == batch_id).with_for_update()
        )
        row = locked.first()
        if row is None or row.completed_at is not None:
            continue
        still_open = await session.execute(
            select(_PAYOUTS.c.id)
            .where(_PAYOUTS.c.batch_id == batch_id, _PAYOUTS.c.status.not_in(list(terminal)))
            .limit(1)
        )
        if still_open.first() is not None:
            continue
        claimed = await session.execute(
            update(_BATCHES)
            .where(_BATCHES.c.id == batch_id, _BATCHES.c.completed_at.is_(None))
            .values(completed_at=now)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue
        batch = (await session.execute(select(_BATCHES).where(_BATCHES.c.id == batch_id))).one()
        view = batch_view(batch, await batch_totals(session, batch_id))
        await emit(session, topic=BATCH_COMPLETED, entity_id=batch_id, data=view, now=now)
        log.info("batch.completed", batch_id=batch_id, items=batch.item_count)
        done.append(batch_id)
    return done
