"""The idempotency table: one row per (tenant, client subject, Idempotency-Key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tronpay.db.base import Base
from tronpay.db.types import BigIntId, UTCDateTime
from tronpay.kit.tenants import DEFAULT_TENANT, MAX_TENANT_CHARS


class IdempotencyRecord(Base):
    """The first response to a key; replayed for every later request with the same key."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(
        String(MAX_TENANT_CHARS),
        nullable=False,
        default=DEFAULT_TENANT,
        server_default=DEFAULT_TENANT,
    )
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    operation: Mapped[str] = mapped_column(String(100), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("tenant", "subject", "key"),
        # The retention purge finds expired records by age (tronpay.api.retention).
        Index("ix_idempotency_records_created", "created_at"),
    )
