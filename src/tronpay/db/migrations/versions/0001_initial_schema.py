"""Initial schema: every table of tronpay (payouts, attempts, batches, idempotency,
outbox, audit, policy), plus the append-only trigger on audit_entries on PostgreSQL.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# audit_entries is append-only: on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE
# (the SQL of tronpay.audit.models.POSTGRES_APPEND_ONLY_SQL, frozen here, one statement each).
APPEND_ONLY_SQL = (
    """
    CREATE OR REPLACE FUNCTION tronpay_audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_entries_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
        FOR EACH STATEMENT EXECUTE FUNCTION tronpay_audit_append_only()
    """,
)
APPEND_ONLY_DROP_SQL = (
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "DROP FUNCTION IF EXISTS tronpay_audit_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_entries_seq")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entries_entity", ["entity_type", "entity_id", "seq"], unique=False
        )

    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index("ix_batches_created", ["created_at", "id"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("subject", "key", name=op.f("uq_idempotency_records_subject_key")),
    )
    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_events_undelivered", ["delivered_at", "id"], unique=False)

    op.create_table(
        "policy_locks",
        sa.Column("asset", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("asset", name=op.f("pk_policy_locks")),
    )
    op.create_table(
        "policy_reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_reservations")),
        sa.UniqueConstraint("payout_id", name=op.f("uq_policy_reservations_payout_id")),
    )
    with op.batch_alter_table("policy_reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_reservations_asset_counted", ["asset", "counted_at"], unique=False
        )
        batch_op.create_index(
            "ix_policy_reservations_asset_destination_counted",
            ["asset", "destination", "counted_at"],
            unique=False,
        )

    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("to_address", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=512), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("blocked_reason", sa.String(length=200), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("txid", sa.String(length=64), nullable=True),
        sa.Column("fee_limit", sa.BigInteger(), nullable=True),
        sa.Column("fee_paid", sa.BigInteger(), nullable=True),
        sa.Column("energy_used", sa.BigInteger(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_payouts_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("client", "reference", name=op.f("uq_payouts_client_reference")),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index("ix_payouts_batch_created", ["batch_id", "created_at"], unique=False)
        batch_op.create_index("ix_payouts_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_payouts_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_payouts_to_address", ["to_address"], unique=False)

    op.create_table(
        "payout_attempts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("payout_id", sa.String(length=40), nullable=False),
        sa.Column("txid", sa.String(length=64), nullable=False),
        sa.Column("raw_data", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("expiration_ms", sa.BigInteger(), nullable=False),
        sa.Column("fee_limit", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("receipt_result", sa.String(length=64), nullable=True),
        sa.Column("fee_paid", sa.BigInteger(), nullable=True),
        sa.Column("energy_used", sa.BigInteger(), nullable=True),
        sa.Column("energy_fee", sa.BigInteger(), nullable=True),
        sa.Column("net_fee", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_timestamp_ms", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_payout_attempts_payout_id_payouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_attempts")),
        sa.UniqueConstraint("txid", name=op.f("uq_payout_attempts_txid")),
    )
    with op.batch_alter_table("payout_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payout_attempts_payout", ["payout_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_payout_attempts_status", ["status"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY_SQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY_DROP_SQL:
            op.execute(statement)
    with op.batch_alter_table("payout_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_attempts_status")
        batch_op.drop_index("ix_payout_attempts_payout")

    op.drop_table("payout_attempts")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_payouts_to_address")
        batch_op.drop_index("ix_payouts_status_created")
        batch_op.drop_index("ix_payouts_created")
        batch_op.drop_index("ix_payouts_batch_created")

    op.drop_table("payouts")
    with op.batch_alter_table("policy_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_reservations_asset_destination_counted")
        batch_op.drop_index("ix_policy_reservations_asset_counted")

    op.drop_table("policy_reservations")
    op.drop_table("policy_locks")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_undelivered")

    op.drop_table("outbox_events")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index("ix_batches_created")

    op.drop_table("batches")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_entity")

    op.drop_table("audit_entries")
    op.drop_table("audit_chain_head")
