"""The audit log is append-only on SQLite too: triggers abort every UPDATE and DELETE of
``audit_entries`` (PostgreSQL has had its statement trigger since 0001).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SQL of tronpay.audit.models.SQLITE_APPEND_ONLY_SQL, frozen here. SQLite has no
# TRUNCATE: ``DELETE FROM audit_entries`` without a WHERE clause fires the DELETE trigger
# too (SQLite skips its truncate optimisation when a table has a DELETE trigger).
SQLITE_APPEND_ONLY_SQL = (
    """
    CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (UPDATE refused)'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (DELETE refused)'); END
    """,
)
SQLITE_APPEND_ONLY_DROP_SQL = (
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_APPEND_ONLY_SQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_APPEND_ONLY_DROP_SQL:
            op.execute(statement)
