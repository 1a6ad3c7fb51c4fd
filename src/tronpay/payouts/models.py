"""Payout and PayoutAttempt tables. Money columns are integers in base units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tronpay.db.base import Base, Money
from tronpay.db.types import UTCDateTime
from tronpay.kit.tenants import DEFAULT_TENANT, MAX_TENANT_CHARS


class Payout(Base):
    """One request to pay ``amount`` of ``asset`` to ``to_address``, exactly once."""

    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The tenant the payout belongs to: every read, list and action is scoped to it, and a
    # reference is unique within it.
    tenant: Mapped[str] = mapped_column(
        String(MAX_TENANT_CHARS),
        nullable=False,
        default=DEFAULT_TENANT,
        server_default=DEFAULT_TENANT,
    )
    client: Mapped[str] = mapped_column(String(200), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    to_address: Mapped[str] = mapped_column(String(64), nullable=False)
    asset: Mapped[str] = mapped_column(String(10), nullable=False)
    amount: Mapped[int] = mapped_column(Money, nullable=False)
    memo: Mapped[str | None] = mapped_column(String(512), nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    blocked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    batch_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("batches.id"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    txid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fee_limit: Mapped[int | None] = mapped_column(Money, nullable=True)
    fee_paid: Mapped[int | None] = mapped_column(Money, nullable=True)
    energy_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # from the receipt: the energy staked or delegated to the hot wallet paid for, and the rest
    # (energy_used - energy_from_stake), paid for by burning TRX (part of fee_paid)
    energy_from_stake: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    energy_burned: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempt_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # The X-Request-ID of the request that created it: the engine's log lines carry it.
    request_id: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        UniqueConstraint("tenant", "reference"),
        Index("ix_payouts_tenant_created", "tenant", "created_at", "id"),
        Index("ix_payouts_status_created", "status", "created_at"),
        Index("ix_payouts_to_address", "to_address"),
        Index("ix_payouts_batch_created", "batch_id", "created_at"),
    )

    def __repr__(self) -> str:
        return f"Payout(id={self.id!r}, status={self.status!r}, asset={self.asset!r})"


class PayoutAttempt(Base):
    """One signed transaction for a payout. Persisted before its first broadcast; never deleted."""

    __tablename__ = "payout_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payout_id: Mapped[str] = mapped_column(String(40), ForeignKey("payouts.id"), nullable=False)
    txid: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    raw_data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    expiration_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee_limit: Mapped[int | None] = mapped_column(Money, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    receipt_result: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fee_paid: Mapped[int | None] = mapped_column(Money, nullable=True)
    energy_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    energy_fee: Mapped[int | None] = mapped_column(Money, nullable=True)
    net_fee: Mapped[int | None] = mapped_column(Money, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_timestamp_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    broadcast_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_payout_attempts_payout", "payout_id", "created_at"),
        Index("ix_payout_attempts_status", "status"),
    )

    def __repr__(self) -> str:
        return f"PayoutAttempt(id={self.id!r}, txid={self.txid!r}, status={self.status!r})"
