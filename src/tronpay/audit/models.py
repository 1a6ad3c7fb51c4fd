"""Audit log tables.

``audit_entries`` is append-only: every row carries its chain position ``seq`` (1, 2, 3, ...
without gaps), the ``prev_hash`` of the row before it and its own ``hash`` =
sha256(prev_hash || canonical JSON of the entry). ``audit_chain_head`` is a single row
(``id = 1``) holding the last position and hash; writers lock it (``SELECT ... FOR UPDATE``
on PostgreSQL) to take the next position, so concurrent writers cannot fork the chain.
The unique constraint on ``seq`` is the second line of defence.

Nothing may UPDATE or DELETE ``audit_entries``. On PostgreSQL the migration should install
the trigger in ``tronpay.audit.models.POSTGRES_APPEND_ONLY_SQL`` (a tuple of statements; drop
it on downgrade with ``POSTGRES_APPEND_ONLY_DROP_SQL``). SQLite gets the same protection from
``SQLITE_APPEND_ONLY_SQL`` (two triggers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tronpay.db.base import Base
from tronpay.kit.tenants import DEFAULT_TENANT, MAX_TENANT_CHARS

# 64-bit on PostgreSQL; INTEGER on SQLite so the column is a rowid alias (autoincrement).
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One audit record. Immutable once written."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    # The tenant whose data the entry is about; ``GET /v1/audit`` shows a tenant its own.
    tenant: Mapped[str] = mapped_column(
        String(MAX_TENANT_CHARS),
        nullable=False,
        default=DEFAULT_TENANT,
        server_default=DEFAULT_TENANT,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    principal: Mapped[str] = mapped_column(String(200), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(100), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_audit_entries_entity", "entity_type", "entity_id", "seq"),
        Index("ix_audit_entries_tenant", "tenant", "seq"),
    )

    def __repr__(self) -> str:
        return (
            f"AuditEntry(seq={self.seq}, action={self.action!r}, "
            f"entity={self.entity_type}:{self.entity_id})"
        )


class AuditChainHead(Base):
    """The single row (id = 1) naming the last chain position and its hash."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


# One statement per item (asyncpg runs one statement per call): ``for sql in ...: op.execute(sql)``.
POSTGRES_APPEND_ONLY_SQL: tuple[str, ...] = (
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

POSTGRES_APPEND_ONLY_DROP_SQL: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "DROP FUNCTION IF EXISTS tronpay_audit_append_only()",
)

SQLITE_APPEND_ONLY_SQL: tuple[str, ...] = (
    """
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (UPDATE refused)'); END
""",
    """
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (DELETE refused)'); END
""",
)

SQLITE_APPEND_ONLY_DROP_SQL: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete",
)
