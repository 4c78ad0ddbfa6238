"""ESCALATE: the resolution clocks. Low severity must be resolved within a day, high within
a few hours (the policy frozen on the incident says exactly); the owner is warned before the
deadline, and at it the breach is recorded and the owner and both managers told. The clock
keeps running after acknowledgement; only resolving stops it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.domain.roles import ENGINEERING_MANAGER, SUPPORT_MANAGER
from escalator.process.core import announce, events, people
from escalator.process.core.context import Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, record, schedule
from escalator.store.models import Incident, Timer

WARNING = "resolution.warning"
DEADLINE = "resolution.deadline"
TIMERS = (WARNING, DEADLINE)


def start(ctx: Ctx, incident: Incident, policy: dict[str, Any], level: str) -> None:
    cancel_timers(ctx, incident, TIMERS)
    due = ctx.now + timedelta(seconds=int(policy["resolution_seconds"][level]))
    warning = timedelta(seconds=int(policy["warning_seconds"]))
    incident.resolution_due_at = due
    schedule(ctx, incident, DEADLINE, due, {"level": level})
    if due - warning > ctx.now:
        schedule(ctx, incident, WARNING, due - warning, {"level": level})
    record(
        ctx,
        incident,
        "resolution_clock",
        note=f"{level} severity: resolve by {due:%Y-%m-%d %H:%M} UTC",
        data={"level": level, "due_at": due.isoformat()},
    )


def _owners(ctx: Ctx, incident: Incident) -> list[str]:
    if incident.owner_person:
        return [incident.owner_person]
    return people.holders(ctx, incident.owner_role) if incident.owner_role else []


def on_warning(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    if Status(incident.status) not in ACTIVE or incident.resolution_due_at is None:
        return
    left = format_duration(incident.resolution_due_at - timer.due_at)
    event = record(ctx, incident, "resolution_warning", note=f"{left} left to resolve")
    notify(
        ctx,
        incident,
        people=_owners(ctx, incident),
        subject=f"{left} left to resolve: {incident.title}",
        because=event,
    )
    announce.changed(ctx, incident, event, f":hourglass: {left} left to resolve")


def on_deadline(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """Out of time: the breach is recorded; the owner and both managers are told."""
    if Status(incident.status) not in ACTIVE:
        return
    level = str(timer.payload.get("level", ""))
    event = record(
        ctx,
        incident,
        "resolution_breached",
        note=f"not resolved within the {level} severity time",
        data={
            "due_at": timer.due_at.isoformat(),
            "level": level,
            "clock": f"{level}_severity_resolution",
        },
    )
    events.publish(ctx, events.BREACHED, incident, event)
    told = (
        _owners(ctx, incident)
        + people.holders(ctx, SUPPORT_MANAGER)
        + people.holders(ctx, ENGINEERING_MANAGER)
    )
    notify(
        ctx, incident, people=told, subject=f"Resolution overdue: {incident.title}", because=event
    )
    announce.changed(ctx, incident, event, ":warning: resolution overdue")
