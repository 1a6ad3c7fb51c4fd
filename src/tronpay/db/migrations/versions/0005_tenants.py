"""Tenants: payouts, batches, idempotency keys and audit entries belong to a tenant.

Every existing row goes to the tenant ``default`` (the tenant of every token while no tenant
claim is configured). A reference becomes unique per tenant instead of per client, and an
idempotency key per (tenant, subject). Payouts are listed by tenant, so the listing index
becomes (tenant, created_at, id); audit entries are read by tenant, (tenant, seq).

Before anything changes, the upgrade refuses a database where two clients used the same
reference (they would collide in the one tenant ``default``), naming how many; the downgrade
refuses a database with rows of any other tenant (the older schema cannot hold them).

On SQLite the payouts table is rebuilt to change its unique constraint. Foreign keys are on
during migrations and the rebuild drops the old table, so the attempts (the only rows that
point to payouts) are set aside in a scratch table meanwhile and put back unchanged.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_TENANT = "default"
_TABLES = ("payouts", "batches", "idempotency_records", "audit_entries")


def _tenant_column() -> sa.Column[str]:
    return sa.Column("tenant", sa.String(64), nullable=False, server_default=DEFAULT_TENANT)


def _refuse_shared_references() -> None:
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM (SELECT reference FROM payouts WHERE reference IS NOT NULL"
                " GROUP BY reference HAVING count(*) > 1) AS shared"
            )
        )
        .scalar_one()
    )
    if shared:
        raise RuntimeError(
            f"{shared} payout reference(s) are used by more than one client, but references "
            "become unique per tenant and every existing payout goes to the tenant "
            f"{DEFAULT_TENANT!r}; give those payouts distinct references, then upgrade again"
        )


def _rebuild_payouts(
    drop_unique: str, unique_columns: list[str], unique_name: str, *, sqlite: bool
) -> None:
    """Swap the unique constraint of payouts (on SQLite a table rebuild, attempts set aside)."""
    if sqlite:
        op.execute("CREATE TABLE _tenants_0005_attempts AS SELECT * FROM payout_attempts")
        op.execute("DELETE FROM payout_attempts")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_constraint(drop_unique, type_="unique")
        batch_op.create_unique_constraint(unique_name, unique_columns)
    if sqlite:
        op.execute("INSERT INTO payout_attempts SELECT * FROM _tenants_0005_attempts")
        op.execute("DROP TABLE _tenants_0005_attempts")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _refuse_shared_references()
    for table in _TABLES:
        # A plain ADD COLUMN on both databases (no rebuild; existing rows get the default).
        op.add_column(table, _tenant_column())
    _rebuild_payouts(
        "uq_payouts_client_reference",
        ["tenant", "reference"],
        "uq_payouts_tenant_reference",
        sqlite=sqlite,
    )
    op.drop_index("ix_payouts_created", table_name="payouts")
    op.create_index("ix_payouts_tenant_created", "payouts", ["tenant", "created_at", "id"])
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_constraint("uq_idempotency_records_subject_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_idempotency_records_tenant_subject_key", ["tenant", "subject", "key"]
        )
    op.create_index("ix_audit_entries_tenant", "audit_entries", ["tenant", "seq"])


def _refuse_other_tenants() -> None:
    for table in _TABLES:
        others = (
            op.get_bind()
            .execute(sa.text(f"SELECT count(*) FROM {table} WHERE tenant <> 'default'"))  # noqa: S608
            .scalar_one()
        )
        if others:
            raise RuntimeError(
                f"{others} row(s) of {table} belong to tenants other than {DEFAULT_TENANT!r}; "
                "the schema before tenants cannot hold them, so there is no downgrade"
            )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _refuse_other_tenants()
    op.drop_index("ix_audit_entries_tenant", table_name="audit_entries")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_constraint("uq_idempotency_records_tenant_subject_key", type_="unique")
        batch_op.create_unique_constraint("uq_idempotency_records_subject_key", ["subject", "key"])
    op.drop_index("ix_payouts_tenant_created", table_name="payouts")
    op.create_index("ix_payouts_created", "payouts", ["created_at", "id"])
    _rebuild_payouts(
        "uq_payouts_tenant_reference",
        ["client", "reference"],
        "uq_payouts_client_reference",
        sqlite=sqlite,
    )
    # Plain DROP COLUMN on both databases: no rebuild (batches is referenced by payouts; an
    # audit_entries rebuild would lose its append-only triggers), and no UPDATE trigger fires.
    for table in _TABLES:
        op.drop_column(table, "tenant")
