"""console queues: the live incidents' queue columns in one index, a status's incidents by
key, and the pages ringing a person

The console counts its queues on every page. At 200,000 incidents (thousands live) counting
them by reading each live incident's row took most of a page's time; with every column the
queues test in ``ix_incidents_queues`` they are counted from the index alone. That index
starts with status, as ``ix_incidents_status_stage`` did, and replaces it.
``ix_incidents_status_id`` lists a status newest first without sorting all of its incidents
(a year's closed ones took most of a second). ``ix_pages_person_state``: the pages ringing a
person, for their "Mine" queue, without a scan of every page.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 07:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_COLUMNS = [
    "status",
    "owner_role",
    "stage",
    "owner_person",
    "severity",
    "triage_due_at",
    "resolution_due_at",
]


def upgrade() -> None:
    op.create_index("ix_incidents_queues", "incidents", QUEUE_COLUMNS, unique=False)
    op.create_index("ix_incidents_status_id", "incidents", ["status", "id"], unique=False)
    op.drop_index("ix_incidents_status_stage", table_name="incidents")
    op.create_index("ix_pages_person_state", "pages", ["person", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pages_person_state", table_name="pages")
    op.create_index("ix_incidents_status_stage", "incidents", ["status", "stage"], unique=False)
    op.drop_index("ix_incidents_status_id", table_name="incidents")
    op.drop_index("ix_incidents_queues", table_name="incidents")
