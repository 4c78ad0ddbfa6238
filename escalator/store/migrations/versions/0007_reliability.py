"""reliability: worker heartbeats, retried alerts and timers, coalesced chatter, tickets
keyed by tracker and key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 00:31:53.998942
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import escalator.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = escalator.store.types.UTCDateTime
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", Time(timezone=True), nullable=False),
        sa.Column("beat_at", Time(timezone=True), nullable=False),
        sa.Column("progress_at", Time(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("stopped_at", Time(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("retry_at", Time(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coalesce_key", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_outbox_coalesce",
            ["coalesce_key"],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tickets_key"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_tickets_tracker"), ["tracker", "key"])
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("retry_at", Time(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tickets_tracker"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_tickets_key"), ["key"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_coalesce", postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.drop_column("coalesce_key")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
    op.drop_table("worker_heartbeats")
