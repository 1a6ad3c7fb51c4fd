"""payouts.energy_from_stake and payouts.energy_burned: the energy a payout's receipt says the
hot wallet's stake paid for, and the energy paid for by burning TRX.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN since 3.35): a batch
# operation would rebuild ``payouts`` on SQLite, which its attempts' foreign keys forbid.


def upgrade() -> None:
    op.add_column("payouts", sa.Column("energy_from_stake", sa.BigInteger(), nullable=True))
    op.add_column("payouts", sa.Column("energy_burned", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE payouts DROP COLUMN energy_burned")
    op.execute("ALTER TABLE payouts DROP COLUMN energy_from_stake")
