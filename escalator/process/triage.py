"""TRIAGE: the 30-minute clock (the rest of triage builds on this)."""

from __future__ import annotations

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Stage, Status
from escalator.domain.roles import SUPPORT_MANAGER
from escalator.process import announce
from escalator.process.context import Ctx
from escalator.process.notify import notify
from escalator.process.records import record
from escalator.store.models import Incident, Timer

DEADLINE = "triage.deadline"
UNTRIAGED = frozenset({Stage.ALERT, Stage.TRIAGE})


def on_deadline(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """The triage clock ran out: record the breach and tell the Support Manager."""
    if Status(incident.status) not in ACTIVE or Stage(incident.stage) not in UNTRIAGED:
        return
    limit = format_duration(ctx.process.spec.clocks.triage)
    late = ctx.now - timer.due_at
    event = record(
        ctx,
        incident,
        "triage_breached",
        note=f"not triaged within {limit}",
        data={"due_at": timer.due_at.isoformat(), "late_seconds": int(late.total_seconds())},
    )
    notify(
        ctx,
        incident,
        people=ctx.process.holders_at(SUPPORT_MANAGER, ctx.now),
        subject=f"Triage overdue ({limit}): {incident.title}",
        because=event,
    )
    announce.changed(ctx, incident, event, f":warning: triage overdue: not triaged within {limit}")
