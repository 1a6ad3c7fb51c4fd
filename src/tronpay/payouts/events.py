"""Outbox events and audit snapshots for payouts (the payload shapes webhooks deliver)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.db.session import bulk_insert
from tronpay.kit.ids import new_id
from tronpay.kit.money import format_amount
from tronpay.payouts.models import Payout
from tronpay.webhooks.models import OutboxEvent

OUTBOX_TABLE: Table = OutboxEvent.__table__  # type: ignore[assignment]


def payout_snapshot(payout: Payout) -> dict[str, Any]:
    """The fields of a payout that audit entries and webhook payloads carry."""
    return {
        "id": payout.id,
        "status": payout.status,
        "to": payout.to_address,
        "asset": payout.asset,
        "amount": format_amount(payout.amount),
        "reference": payout.reference,
        "batch_id": payout.batch_id,
        "blocked_reason": payout.blocked_reason,
        "failure_reason": payout.failure_reason,
        "created_by": payout.created_by,
        "approved_by": payout.approved_by,
        "txid": payout.txid,
    }


def outbox_row(topic: str, entity_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    event_id = new_id("ev")
    return {
        "event_id": event_id,
        "topic": topic,
        "entity_id": entity_id,
        "payload": {"id": event_id, "type": topic, "created_at": now.isoformat(), "data": data},
        "created_at": now,
    }


async def emit(
    session: AsyncSession, *, topic: str, entity_id: str, data: dict[str, Any], now: datetime
) -> None:
    """Write one outbox event in the caller's transaction."""
    connection = await session.connection()
    await connection.execute(insert(OUTBOX_TABLE), [outbox_row(topic, entity_id, data, now)])


async def emit_many(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        await bulk_insert(await session.connection(), OUTBOX_TABLE, batch)
