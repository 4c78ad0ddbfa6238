"""What POST MORTEM reads from the stages after ESCALATE, each in one small function: the
change events an incident's trigger is picked from (REMEDIATE), council decisions by kind
(REMEDIATE) and customer-update punctuality (COMMUNICATE).

Until a stage exports its query, its reading answers :class:`NotAvailable` with the reason,
and every face shows "not available: …" (never zero). Each function takes what the
other stage's query will need and nothing more, so wiring one in changes only its body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalator.process import communicate, remediate
from escalator.process.core.context import Ctx
from escalator.store.models import Incident


@dataclass(frozen=True)
class NotAvailable:
    reason: str

    def __str__(self) -> str:
        return f"not available: {self.reason}"


NO_REMEDIATE = NotAvailable("no REMEDIATE stage yet")
NO_COMMUNICATE = NotAvailable("no COMMUNICATE stage yet")


@dataclass(frozen=True)
class ChangeChoice:
    """A change event an incident's trigger may be picked from, as REMEDIATE records it."""

    id: str
    at: datetime
    summary: str


@dataclass(frozen=True)
class Punctuality:
    """Customer updates of the week: how many were due and how many went out in time."""

    due: int
    on_time: int
    late_seconds_median: float | None


def change_events(ctx: Ctx, incident: Incident) -> list[ChangeChoice] | NotAvailable:
    """The changes made before ``incident`` opened (REMEDIATE's change events)."""
    return [
        ChangeChoice(c.id, c.at, c.summary)
        for c in remediate.changes_before(ctx.session, ctx.process, incident)
    ]


def council_decisions(ctx: Ctx, start: datetime, end: datetime) -> dict[str, int] | NotAvailable:
    """The Engineering Council's decisions made in [start, end), counted by kind (REMEDIATE)."""
    return remediate.decisions_by_kind(ctx.session, start, end)


def customer_updates(ctx: Ctx, start: datetime, end: datetime) -> Punctuality | NotAvailable:
    """Customer updates delivered in [start, end) and how many by the time the customer was
    owed one (COMMUNICATE); a final update is on time within ``communication.reminder_before``
    of the resolution it reports."""
    grace = ctx.process.spec.communication.reminder_before
    told = communicate.punctuality(ctx.session, start, end, final_grace=grace)
    return Punctuality(told.delivered, told.on_time, told.late_seconds_median)
