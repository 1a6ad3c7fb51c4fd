"""Idempotency keys expire: records older than ``TRONPAY_IDEMPOTENCY_RETENTION_DAYS``
(default 30) are deleted by a background task of every API process, in small transactions.

After a key has expired, a request with it is a new request. What keeps a late retry from
paying twice is then the payout's ``reference``, which stays unique per tenant forever: the
retry is ``409 duplicate_reference`` and creates nothing. A request without a reference,
retried after the retention period, is a new payout.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Final

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.api.idempotency import IDEMPOTENCY_TABLE
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow

log = structlog.get_logger(__name__)

PURGE_BATCH: Final = 5000
PURGE_INTERVAL_S: Final = 3600.0
FIRST_PURGE_AFTER_S: Final = 60.0


async def purge_expired(
    sessionmaker: async_sessionmaker[AsyncSession], *, older_than: datetime
) -> int:
    """Delete the idempotency records created before ``older_than``; how many were deleted.
    One transaction per ``PURGE_BATCH`` rows, so writers are never held up for long."""
    table = IDEMPOTENCY_TABLE
    total = 0
    while True:
        chunk = (
            select(table.c.id)
            .where(table.c.created_at < older_than)
            .order_by(table.c.id)
            .limit(PURGE_BATCH)
            .scalar_subquery()
        )
        async with write_transaction(sessionmaker) as session:
            result = await session.execute(delete(table).where(table.c.id.in_(chunk)))
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < PURGE_BATCH:
            return total


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    retention: timedelta,
    stop: asyncio.Event,
    first_after_s: float = FIRST_PURGE_AFTER_S,
    interval_s: float = PURGE_INTERVAL_S,
) -> None:
    """Purge expired idempotency records every ``interval_s`` until ``stop`` is set. A
    failed purge (database briefly away) is logged and tried again next time."""
    delay = first_after_s
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return
        delay = interval_s
        try:
            deleted = await purge_expired(sessionmaker, older_than=utcnow() - retention)
        except Exception as exc:  # a retention pass must never take the API down
            log.warning("idempotency.purge_failed", error=type(exc).__name__)
            continue
        if deleted:
            log.info("idempotency.purged", deleted=deleted, retention_days=retention.days)
