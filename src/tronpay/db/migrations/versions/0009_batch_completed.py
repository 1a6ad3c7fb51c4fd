"""batches.completed_at (``batch.completed`` is sent once, by the transaction that sets it)
and ``wallet_alerts`` (the armed/fired state of each ``wallet.low`` threshold, so a restart
does not send the alert again).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch rebuild): payouts' foreign key points at batches.
    op.add_column("batches", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "wallet_alerts",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", "kind", name=op.f("pk_wallet_alerts")),
    )


def downgrade() -> None:
    op.drop_table("wallet_alerts")
    op.execute("ALTER TABLE batches DROP COLUMN completed_at")
