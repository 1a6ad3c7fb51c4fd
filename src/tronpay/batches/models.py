"""The batches table: one row per accepted batch (its payouts point to it).

``completed_at`` is set once, by the transaction that moves the batch's last open payout to a
terminal state; that same transaction writes the ``batch.completed`` outbox event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tronpay.db.base import Base
from tronpay.db.types import UTCDateTime
from tronpay.kit.tenants import DEFAULT_TENANT, MAX_TENANT_CHARS


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(
        String(MAX_TENANT_CHARS),
        nullable=False,
        default=DEFAULT_TENANT,
        server_default=DEFAULT_TENANT,
    )
    client: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(8), nullable=False)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_batches_created", "created_at", "id"),)
