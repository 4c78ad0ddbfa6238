"""escalate

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 15:39:06.864026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import escalator.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rotation_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rotation", sa.String(length=64), nullable=False),
        sa.Column("start", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_overrides")),
    )
    with op.batch_alter_table("rotation_overrides", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rotation_overrides_rotation_end", ["rotation", "end"], unique=False
        )

    op.create_table(
        "rotation_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rotation", sa.String(length=64), nullable=False),
        sa.Column("first", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("second", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_swaps")),
    )
    with op.batch_alter_table("rotation_swaps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rotation_swaps_rotation"), ["rotation"], unique=False)

    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("paged_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ack_due_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acked_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(length=200), nullable=True),
        sa.Column("late_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_pages_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
    )
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pages_incident_id"), ["incident_id"], unique=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "resolution_due_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("policy", sa.JSON(), nullable=True))

    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_timers_dedup_key"), ["dedup_key"])


def downgrade() -> None:
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_timers_dedup_key"), type_="unique")
        batch_op.drop_column("dedup_key")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("policy")
        batch_op.drop_column("resolution_due_at")

    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pages_incident_id"))

    op.drop_table("pages")
    op.drop_table("signing_keys")
    with op.batch_alter_table("rotation_swaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rotation_swaps_rotation"))

    op.drop_table("rotation_swaps")
    with op.batch_alter_table("rotation_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_rotation_overrides_rotation_end")

    op.drop_table("rotation_overrides")
