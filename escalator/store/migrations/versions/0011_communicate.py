"""communicate: contacts and the customer update ledger

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import escalator.store.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

When = escalator.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("thread", sa.JSON(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", When(timezone=True), nullable=False),
        sa.Column("owed_since", When(timezone=True), nullable=True),
        sa.Column("last_told_at", When(timezone=True), nullable=True),
        sa.Column("promised_at", When(timezone=True), nullable=True),
        sa.Column("due_at", When(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_contacts_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint(
            "incident_id", "channel", "address", name=op.f("uq_contacts_incident_id")
        ),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_due_at"), ["due_at"], unique=False)
    op.create_table(
        "customer_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", When(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("sent_at", When(timezone=True), nullable=True),
        sa.Column("next_update_at", When(timezone=True), nullable=True),
        sa.Column("owed_by", When(timezone=True), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=True),
        sa.Column("since_last_seconds", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("external_ref", sa.String(length=300), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("read_at", When(timezone=True), nullable=True),
        sa.Column("read_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_customer_updates_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_customer_updates_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_updates")),
    )
    with op.batch_alter_table("customer_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_updates_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_updates_incident_id"), ["incident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_updates_incident_id"))
        batch_op.drop_index(batch_op.f("ix_customer_updates_contact_id"))
    op.drop_table("customer_updates")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_due_at"))
        batch_op.drop_index(batch_op.f("ix_contacts_incident_id"))
    op.drop_table("contacts")
