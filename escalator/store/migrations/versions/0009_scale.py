"""scale: the worker's alert queue and the alert changes set aside are partial indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SET_ASIDE = sa.text("error IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_alerts_pending", table_name="alerts")
    op.create_index(
        "ix_alerts_pending",
        "alerts",
        ["id"],
        unique=False,
        postgresql_where=sa.text("pending"),
        sqlite_where=sa.text("pending = 1"),
    )
    op.create_index(
        "ix_alerts_set_aside",
        "alerts",
        ["id"],
        unique=False,
        postgresql_where=SET_ASIDE,
        sqlite_where=SET_ASIDE,
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_set_aside", table_name="alerts")
    op.drop_index("ix_alerts_pending", table_name="alerts")
    op.create_index("ix_alerts_pending", "alerts", ["pending"], unique=False)
