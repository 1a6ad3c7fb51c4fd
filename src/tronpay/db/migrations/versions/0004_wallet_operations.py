"""Staking operations of the hot wallet (``wallet_operations``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_operations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("receiver", sa.String(length=64), nullable=True),
        sa.Column("lock", sa.Boolean(), nullable=False),
        sa.Column("lock_period", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("blocked_reason", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("txid", sa.String(length=64), nullable=True),
        sa.Column("raw_data", sa.LargeBinary(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("expiration_ms", sa.BigInteger(), nullable=True),
        sa.Column("fee_paid", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_operations")),
        sa.UniqueConstraint("txid", name=op.f("uq_wallet_operations_txid")),
        sa.UniqueConstraint(
            "created_by",
            "idempotency_key",
            name=op.f("uq_wallet_operations_created_by_idempotency_key"),
        ),
    )
    with op.batch_alter_table("wallet_operations", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_operations_status", ["status"], unique=False)
        batch_op.create_index("ix_wallet_operations_created", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wallet_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_operations_created")
        batch_op.drop_index("ix_wallet_operations_status")
    op.drop_table("wallet_operations")
