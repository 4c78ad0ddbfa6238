"""Bringing an incident to the Engineering Council, and the council's clock and queue.

The hand-off is the core move ``core.incidents.escalate`` to the ``engineering_council``
role (which puts the incident in the REMEDIATE stage); this stage hears of it
(``events.HANDED_OVER``), opens the incident's council case, tells every member (console,
email, Slack DM), says so in the incident's Slack thread, and starts the council clock: a
warning before and a breach at the deadline go to the Engineering Manager and the Support
Manager. The queue lists the cases waiting for a decision, oldest due first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Stage, Status
from escalator.domain.permissions import Forbidden
from escalator.domain.roles import ENGINEERING_COUNCIL, ENGINEERING_MANAGER, SUPPORT_MANAGER
from escalator.process.core import announce, events, incidents, known, people
from escalator.process.core.context import SYSTEM, Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, record, schedule
from escalator.store.models import CouncilCase, Incident, TimelineEvent, Timer

WARNING = "council.warning"
DEADLINE = "council.deadline"
TIMERS = (WARNING, DEADLINE)
WAITING, DECIDED, CLOSED = "waiting", "decided", "closed"


def members(ctx: Ctx) -> list[str]:
    """Who sits on the council: the process file's ``council.members``, or the role's holders."""
    return list(ctx.process.spec.council.members or people.members(ctx, ENGINEERING_COUNCIL))


def check_member(ctx: Ctx, what: str = "record council decisions") -> None:
    if ctx.actor == SYSTEM:
        return
    if ctx.actor not in members(ctx):
        raise Forbidden(ctx.actor, what, [ENGINEERING_COUNCIL])


def case_of(ctx: Ctx, incident: Incident) -> CouncilCase | None:
    loaded = known.rows(ctx.session, CouncilCase, incident.id)
    if loaded is not None:
        return loaded[0] if loaded else None
    return ctx.session.get(CouncilCase, incident.id)


def may_bring(incident: Incident) -> bool:
    """Whether the incident can be brought to the council now: while it is worked on, once
    triage has started (not in the alert stage), and not while it is before the council."""
    return Status(incident.status) in ACTIVE and incident.stage not in (
        Stage.ALERT,
        Stage.REMEDIATE,
    )


def bring(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    """Bring the incident to the council (the Support Manager, the Engineering Manager, the
    On Call Engineer or the SME may): the core move, which this stage hears of. Acknowledged,
    it stays acknowledged with whoever is in charge (on call) while the council decides."""
    return incidents.escalate(ctx, key, to_role=ENGINEERING_COUNCIL, note=note)


def before_council(incident: Incident) -> bool:
    """Whether the incident is before the council (the REMEDIATE stage), whoever owns it."""
    return incident.stage == Stage.REMEDIATE


def _high(ctx: Ctx, incident: Incident) -> bool:
    return bool(incident.severity) and incident.severity in (
        ctx.process.spec.escalation.high_severity
    )


def on_handed_over(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The incident reached the council: open its case, tell every member, start the clock.
    Handed on from the council to someone else: its case leaves the queue."""
    case = case_of(ctx, incident)
    if not before_council(incident):
        if case is not None and case.state == WAITING:
            case.state, case.updated_at = CLOSED, ctx.now
            cancel_timers(ctx, incident, TIMERS)
        return
    if case is None:
        case = CouncilCase(incident_id=incident.id, brought_at=ctx.now, round=0, updated_at=ctx.now)
        ctx.session.add(case)
    case.brought_by, case.note = ctx.actor, event.note or ""
    told = f"brought to the Engineering Council by {ctx.actor}"
    start_clock(ctx, incident, case, told)
    council = members(ctx)
    # core's escalate told the role's holders (console, email); members beyond them too
    holders = set(people.holders(ctx, ENGINEERING_COUNCIL))
    notify(
        ctx,
        incident,
        people=[m for m in council if m not in holders],
        subject=f"Escalated to you (engineering_council): {incident.title}",
        body=event.note or "",
        because=event,
    )
    text = announce.mrkdwn(
        f"{incident.key} is brought to the Engineering Council for a decision: {incident.title}"
        + (f" — {event.note}" if event.note else "")
    )
    for person in council:
        announce.direct_message(
            ctx,
            incident,
            person,
            text,
            subject=f"[{incident.key}] For the council: {incident.title}",
            key=f"council:{event.ref}:{person}",
        )


def start_clock(ctx: Ctx, incident: Incident, case: CouncilCase, why: str) -> None:
    """(Re)start the council's clock: the case waits in the queue until a decision."""
    clocks = ctx.process.spec.council.clocks
    level = "high" if _high(ctx, incident) else "low"
    allowed = clocks.high if level == "high" else clocks.low
    case.state, case.round = WAITING, case.round + 1
    case.due_at, case.updated_at = ctx.now + allowed, ctx.now
    cancel_timers(ctx, incident, TIMERS)
    payload = {"round": case.round, "level": level}
    schedule(ctx, incident, DEADLINE, case.due_at, payload)
    if case.due_at - clocks.warning > ctx.now:
        schedule(ctx, incident, WARNING, case.due_at - clocks.warning, payload)
    event = record(
        ctx,
        incident,
        "council_clock",
        note=f"{why}; decision due by {case.due_at:%Y-%m-%d %H:%M} UTC "
        f"({level} severity: {format_duration(allowed)})",
        data={"due_at": case.due_at.isoformat(), "level": level, "round": case.round},
    )
    announce.changed(
        ctx,
        incident,
        event,
        f":classical_building: {announce.mrkdwn(why)}; decision due by {case.due_at:%H:%M} UTC",
    )


def decided(ctx: Ctx, incident: Incident) -> None:
    """A decision was recorded: the case leaves the queue and its clock stops."""
    case = case_of(ctx, incident)
    if case is not None and case.state == WAITING:
        case.state, case.updated_at = DECIDED, ctx.now
        cancel_timers(ctx, incident, TIMERS)


def back_to_queue(ctx: Ctx, incident: Incident, why: str) -> None:
    case = case_of(ctx, incident)
    if case is None:
        return
    start_clock(ctx, incident, case, why)


def _current(ctx: Ctx, incident: Incident, timer: Timer) -> CouncilCase | None:
    case = case_of(ctx, incident)
    if (
        case is None
        or case.state != WAITING
        or case.round != timer.payload.get("round")
        or Status(incident.status) not in ACTIVE
    ):
        return None
    return case


def _managers(ctx: Ctx) -> list[str]:
    return people.holders(ctx, ENGINEERING_MANAGER) + people.holders(ctx, SUPPORT_MANAGER)


def on_warning(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    case = _current(ctx, incident, timer)
    if case is None:
        return
    left = format_duration(max(case.due_at - timer.due_at, timedelta(0)))
    event = record(ctx, incident, "council_warning", note=f"{left} left for the council to decide")
    notify(
        ctx,
        incident,
        people=_managers(ctx),
        subject=f"{left} left for the council to decide: {incident.title}",
        because=event,
    )


def on_deadline(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    case = _current(ctx, incident, timer)
    if case is None:
        return
    event = record(
        ctx,
        incident,
        "council_breached",
        note="the council has not decided in time",
        data={"due_at": timer.due_at.isoformat(), "clock": "council_decision"},
    )
    events.publish(ctx, events.BREACHED, incident, event)
    notify(
        ctx,
        incident,
        people=_managers(ctx),
        subject=f"Council decision overdue: {incident.title}",
        because=event,
    )
    announce.changed(ctx, incident, event, ":warning: council decision overdue")


def on_resolved(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """Resolved (or closed): the council's case is moot; it closes (leaving the queue if it
    waited there) and the timeline says so."""
    case = case_of(ctx, incident)
    if case is not None and case.state != CLOSED:
        case.state, case.updated_at = CLOSED, ctx.now
        cancel_timers(ctx, incident, TIMERS)
        record(
            ctx,
            incident,
            "council_case_closed",
            note=f"the council's case is closed as moot: the incident was {incident.status}",
        )


@dataclass(frozen=True)
class Waiting:
    incident: Incident
    case: CouncilCase

    def left(self, now: datetime) -> timedelta:
        return self.case.due_at - now


def queue(session: Session, *, limit: int = 200) -> list[Waiting]:
    """What waits for the council's decision, oldest due first."""
    rows = session.execute(
        select(CouncilCase, Incident)
        .join(Incident, Incident.id == CouncilCase.incident_id)
        .where(CouncilCase.state == WAITING)
        .order_by(CouncilCase.due_at, CouncilCase.incident_id)
        .limit(limit)
    ).all()
    return [Waiting(incident, case) for case, incident in rows]
