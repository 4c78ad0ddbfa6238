"""TRIAGE: what happens the moment an incident opens, and the 30-minute clock.

On opening, triage starts by itself: a triager on duty is assigned, the incident report is
pre-filled from what came in, an MCT ticket is filed, the incident is indexed for related
search, matching playbook entries are attached, and the clock starts: a warning to the
triager before the deadline, a breach record and the Support Manager told at it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Stage, Status
from escalator.domain.roles import FIRST_TIER, SUPPORT_MANAGER
from escalator.process.core import announce, events
from escalator.process.core.context import Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, record, schedule
from escalator.process.triage import playbooks, related, report, tickets
from escalator.store.models import Incident, TimelineEvent, Timer

DEADLINE = "triage.deadline"
WARNING = "triage.warning"
TIMERS = (DEADLINE, WARNING)
UNTRIAGED = frozenset({Stage.ALERT, Stage.TRIAGE})


def start(ctx: Ctx, incident: Incident, opened: TimelineEvent, *, url: str = "") -> None:
    clocks = ctx.process.spec.clocks
    incident.triage_due_at = ctx.now + clocks.triage
    schedule(ctx, incident, DEADLINE, incident.triage_due_at)
    if clocks.triage_warning < clocks.triage:
        schedule(ctx, incident, WARNING, incident.triage_due_at - clocks.triage_warning)
    on_duty = ctx.process.holders_at(FIRST_TIER, ctx.now)
    # whoever took the report and is on duty keeps it; otherwise the least busy on duty
    keeps = ctx.actor in on_duty
    incident.owner_person = ctx.actor if keeps else _least_busy(ctx, on_duty)
    if incident.owner_person:
        record(
            ctx,
            incident,
            "assigned",
            note=("reported by the " if keeps else "")
            + f"triager on duty: {incident.owner_person}",
            data={"to": incident.owner_person},
        )
    report.prefill(ctx, incident)
    tickets.open_ticket(ctx, incident, opened, url=url)
    related.index(ctx, incident, kind="incident", ref=incident.key, title=incident.title)
    playbooks.attach_matching(ctx, incident)


def pass_on(ctx: Ctx, incident: Incident) -> None:
    """The reporter on duty chose not to keep it: the least busy other triager on duty takes
    it (nobody else on duty: the reporter keeps it, and the timeline says so)."""
    others = [p for p in ctx.process.holders_at(FIRST_TIER, ctx.now) if p != ctx.actor]
    to = _least_busy(ctx, others)
    if to is None:
        record(ctx, incident, "assigned", note=f"nobody else on duty: {ctx.actor} keeps it")
        return
    incident.owner_person = to
    record(ctx, incident, "assigned", note=f"passed on by {ctx.actor}: {to}", data={"to": to})


def _least_busy(ctx: Ctx, people: list[str]) -> str | None:
    """Of those on duty, who owns the fewest active incidents (the first on a tie)."""
    if not people:
        return None
    busy = (
        select(Incident.owner_person, func.count())
        .where(Incident.owner_person.in_(people), Incident.status.in_([s.value for s in ACTIVE]))
        .group_by(Incident.owner_person)
    )
    counts = {person: count for person, count in ctx.session.execute(busy)}
    return min(people, key=lambda p: (counts.get(p, 0), people.index(p)))


def _untriaged(incident: Incident) -> bool:
    return (
        Status(incident.status) in ACTIVE
        and Stage(incident.stage) in UNTRIAGED
        and not incident.severity
    )


def on_warning(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """Shortly before the deadline: remind the triager (or first tier if nobody has it)."""
    if not _untriaged(incident):
        return
    left = format_duration(ctx.process.spec.clocks.triage_warning)
    event = record(ctx, incident, "triage_warning", note=f"{left} left to triage")
    people = (
        [incident.owner_person]
        if incident.owner_person
        else ctx.process.holders_at(FIRST_TIER, ctx.now)
    )
    notify(
        ctx,
        incident,
        people=people,
        subject=f"Triage due in {left}: {incident.title}",
        because=event,
    )
    announce.changed(ctx, incident, event, f":hourglass: {left} left to triage")


def on_deadline(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """The triage clock ran out: record the breach and tell the Support Manager."""
    if not _untriaged(incident):
        return
    limit = format_duration(ctx.process.spec.clocks.triage)
    late = ctx.now - timer.due_at
    event = record(
        ctx,
        incident,
        "triage_breached",
        note=f"not triaged within {limit}",
        data={
            "due_at": timer.due_at.isoformat(),
            "late_seconds": int(late.total_seconds()),
            "clock": "triage",
        },
    )
    events.publish(ctx, events.BREACHED, incident, event)
    notify(
        ctx,
        incident,
        people=ctx.process.holders_at(SUPPORT_MANAGER, ctx.now),
        subject=f"Triage overdue ({limit}): {incident.title}",
        because=event,
    )
    announce.changed(ctx, incident, event, f":warning: triage overdue: not triaged within {limit}")


def on_handed_over(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """Handed to another role: the triage clock stops and the ticket says where it went."""
    cancel_timers(ctx, incident, TIMERS)
    to = f"{incident.owner_role} ({incident.owner_person or 'nobody on duty'})"
    tickets.comment(ctx, incident, event, f"Escalated to {to} by {ctx.actor}. {event.note}".strip())
