"""Outbox events and audit snapshots for payouts (the payload shapes webhooks deliver)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from tronpay.db.session import bulk_insert
from tronpay.kit.ids import new_id
from tronpay.kit.money import format_amount
from tronpay.payouts.models import Payout
from tronpay.webhooks.models import OutboxEvent

OUTBOX_TABLE: Table = OutboxEvent.__table__  # type: ignore[assignment]


# The columns a snapshot reads (ORM attribute names equal these column names).
_SNAPSHOT_COLUMNS: Final = (
    "id",
    "status",
    "to_address",
    "asset",
    "amount",
    "reference",
    "batch_id",
    "blocked_reason",
    "failure_reason",
    "created_by",
    "approved_by",
    "txid",
)


def row_snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a payout that audit entries and webhook payloads carry, from its table
    row (column names as keys). Every payout snapshot is built here."""
    return {
        "id": row["id"],
        "status": row["status"],
        "to": row["to_address"],
        "asset": row["asset"],
        "amount": format_amount(int(row["amount"])),
        "reference": row["reference"],
        "batch_id": row["batch_id"],
        "blocked_reason": row["blocked_reason"],
        "failure_reason": row["failure_reason"],
        "created_by": row["created_by"],
        "approved_by": row["approved_by"],
        "txid": row["txid"],
    }


def payout_snapshot(payout: Payout) -> dict[str, Any]:
    """``row_snapshot`` of a loaded ``Payout``."""
    return row_snapshot({name: getattr(payout, name) for name in _SNAPSHOT_COLUMNS})


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
