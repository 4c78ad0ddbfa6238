"""search terms: document counts per lexeme for PostgreSQL's related search

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_search_terms")),
    )


def downgrade() -> None:
    op.drop_table("search_terms")
