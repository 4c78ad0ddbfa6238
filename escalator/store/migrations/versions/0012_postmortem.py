"""postmortem: post-mortems, action items, playbook drafts, weekly reviews, metric counts

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 02:06:42.664164
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import escalator.store.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_counts",
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "label", name=op.f("pk_metric_counts")),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("due_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("since", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agenda", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("due_at", name=op.f("uq_reviews_due_at")),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("due_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("jira", sa.String(length=64), nullable=True),
        sa.Column("finding", sa.String(length=300), nullable=True),
        sa.Column("created_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("closed_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_action_items_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        sa.UniqueConstraint("finding", name=op.f("uq_action_items_finding")),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_items_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_action_items_owner"), ["owner"], unique=False)
        batch_op.create_index("ix_action_items_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "postmortems",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("root_cause", sa.String(length=48), nullable=True),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("trigger_change", sa.JSON(), nullable=True),
        sa.Column("detected_by", sa.String(length=16), nullable=True),
        sa.Column("customer_first", sa.Boolean(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("went_well", sa.Text(), nullable=False),
        sa.Column("went_badly", sa.Text(), nullable=False),
        sa.Column("started_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("waived_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waived_by", sa.String(length=200), nullable=True),
        sa.Column("waiver", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_postmortems_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_postmortems_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_postmortems")),
    )
    with op.batch_alter_table("postmortems", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postmortems_state"), ["state"], unique=False)

    op.create_table(
        "playbook_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", escalator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", escalator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["action_items.id"],
            name=op.f("fk_playbook_drafts_action_item_id_action_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_drafts")),
        sa.UniqueConstraint("action_item_id", name=op.f("uq_playbook_drafts_action_item_id")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_incidents_resolved_at", ["resolved_at"], unique=False)

    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.create_index("ix_pages_paged_at", ["paged_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index("ix_pages_paged_at")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_resolved_at")
        batch_op.drop_index("ix_incidents_created_at")

    op.drop_table("playbook_drafts")
    with op.batch_alter_table("postmortems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postmortems_state"))

    op.drop_table("postmortems")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_state_due_at")
        batch_op.drop_index(batch_op.f("ix_action_items_owner"))
        batch_op.drop_index(batch_op.f("ix_action_items_incident_id"))

    op.drop_table("action_items")
    op.drop_table("reviews")
    op.drop_table("metric_counts")
