"""Policy tables.

``policy_reservations``: one row per payout that passed the policy check, holding its amount
against the rolling 24 h limits. ``released_at`` is set when the payout is cancelled or fails,
which frees the amount. Sums over active rows (``released_at IS NULL``) whose ``counted_at``
lies in the last 24 h give the rolling totals per asset and per destination. ``counted_at``
starts at creation and is moved forward once, by the engine's re-check just before the
payout is signed for the first time (the moment the money leaves), so a payout that waited
days for approval is counted when it is sent, not when it was requested; re-signing it after
an expired attempt never moves it again.

``policy_locks``: one row per asset. ``check_and_reserve`` locks it (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite is serialized by the single writer) before summing and inserting, so
concurrent requests together can never exceed a limit. Rows are created on demand
(insert-or-ignore); the migration does not need to seed them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tronpay.db.base import Base, Money

BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class PolicyReservation(Base):
    """An amount held against the rolling limits for one payout."""

    __tablename__ = "policy_reservations"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    payout_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    asset: Mapped[str] = mapped_column(String(10), nullable=False)
    destination: Mapped[str] = mapped_column(String(64), nullable=False)
    amount: Mapped[int] = mapped_column(Money, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    counted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_policy_reservations_asset_counted", "asset", "counted_at"),
        Index(
            "ix_policy_reservations_asset_destination_counted",
            "asset",
            "destination",
            "counted_at",
        ),
    )


class PolicyLock(Base):
    """One row per asset, locked while a reservation is checked and written."""

    __tablename__ = "policy_locks"

    asset: Mapped[str] = mapped_column(String(10), primary_key=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
