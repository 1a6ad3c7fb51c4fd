"""payouts.request_id: the X-Request-ID of the request that created the payout, so the
engine's log lines about a payout carry the request it came from.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN since 3.35): a batch
# operation would rebuild ``payouts`` on SQLite, which its attempts' foreign keys forbid.


def upgrade() -> None:
    op.add_column("payouts", sa.Column("request_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE payouts DROP COLUMN request_id")
