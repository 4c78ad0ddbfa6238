"""Acknowledge, escalate, resolve, reopen, close and claim: the moves of an incident's life that
every stage makes. Each move is checked against the state machine (``domain/lifecycle.py``)
and the person's roles, written to the timeline, announced, and published (``core.events``)
for the stages that act on it: ESCALATE stops ringing pages, TRIAGE comments on and closes
the ticket, ALERT releases the alert group."""

from __future__ import annotations

from escalator.domain import lifecycle
from escalator.domain.lifecycle import Action, Change
from escalator.domain.permissions import ESCALATE_TO, Forbidden, check_action, check_escalation
from escalator.domain.roles import ROLES
from escalator.process.core import announce, events, people
from escalator.process.core.context import SYSTEM, Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, load, record, state_of
from escalator.store.models import Incident, TimelineEvent


def _roles(ctx: Ctx) -> frozenset[str]:
    return people.roles_of(ctx, ctx.actor)


def _check(ctx: Ctx, action: str) -> None:
    """People need a role that allows ``action``; the engine acting by itself does not."""
    if ctx.actor != SYSTEM:
        check_action(ctx.actor, _roles(ctx), action)


def _apply(
    ctx: Ctx, incident: Incident, action: Action, note: str, **kwargs: str | None
) -> TimelineEvent:
    """Move the incident, write one timeline event per changed field, return the first."""
    before = state_of(incident)
    after = lifecycle.apply(before, action, **kwargs)
    incident.status = after.status.value
    incident.stage = after.stage.value
    incident.owner_role = after.owner_role
    incident.owner_person = after.owner_person
    incident.updated_at = ctx.now
    changes = lifecycle.diff(before, after)
    first = record(ctx, incident, action.value, note=note, change=changes[0] if changes else None)
    for change in changes[1:]:
        record(ctx, incident, action.value, change=change)
    line = f"{ctx.actor}: {action.value}" + (f" — {note}" if note else "")
    announce.changed(ctx, incident, first, line)
    announce.status_changed(ctx, incident, first, before.status.value)
    return first


def acknowledge(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    """Someone is on it: pages stop ringing; an answered on-call page arms the one-hour rule.
    The resolution clock keeps running."""
    _check(ctx, "incident.acknowledge")
    incident = load(ctx, key)
    check_acknowledger(ctx, incident)
    event = _apply(ctx, incident, Action.ACKNOWLEDGE, note, actor=ctx.actor)
    incident.acknowledged_at = ctx.now
    events.publish(ctx, events.ACKNOWLEDGED, incident, event)
    return incident


def may_acknowledge(ctx: Ctx, incident: Incident, person: str) -> bool:
    """Whether ``person`` may take ``incident`` by acknowledging it: only someone holding the
    role that owns it (or the person it was handed to), never anyone else, so nobody is
    recorded under a role they do not hold."""
    role = incident.owner_role
    return not role or person == incident.owner_person or person in people.members(ctx, role)


def check_acknowledger(ctx: Ctx, incident: Incident) -> None:
    """Refuse (403) an acknowledgement by someone outside the owning role."""
    if ctx.actor == SYSTEM or may_acknowledge(ctx, incident, ctx.actor):
        return
    role = incident.owner_role or ""
    raise Forbidden(
        ctx.actor,
        f"acknowledge {incident.key}, which is with {role.replace('_', ' ')}",
        [role],
    )


def escalate(
    ctx: Ctx,
    key: str,
    *,
    to_role: str,
    to_person: str | None = None,
    note: str = "",
    by_rule: bool = False,
) -> Incident:
    """Hand the incident to ``to_role`` (its current holder, or ``to_person`` who holds it).
    ``by_rule``: the process file's rule decided it (the severity threshold), not a person."""
    if to_role not in ESCALATE_TO:
        why = "no escalation path leads to" if to_role in ROLES else "unknown role"
        raise InvalidInput(
            "role", f"{why} {to_role!r}; one may escalate to {', '.join(ESCALATE_TO)}"
        )
    if ctx.actor != SYSTEM and not by_rule:
        check_escalation(ctx.actor, _roles(ctx), to_role)
    holders = people.holders(ctx, to_role)
    if to_person is not None and to_person not in people.members(ctx, to_role):
        raise InvalidInput("person", f"{to_person!r} does not hold role {to_role}")
    incident = load(ctx, key)
    # the council decides together: nobody in it owns the incident alone, every member is told
    collective = to_role in lifecycle.REMEDIATION_ROLES
    target = to_person or (holders[0] if holders and not collective else None)
    event = hand_over(ctx, incident, to_role, target, note)
    told = [target] if target else holders
    notify(
        ctx,
        incident,
        people=told,
        subject=f"Escalated to you ({to_role}): {incident.title}",
        body=note,
        because=event,
    )
    return incident


def hand_over(
    ctx: Ctx, incident: Incident, to_role: str, to_person: str | None, note: str
) -> TimelineEvent:
    """Give the incident to ``to_role`` / ``to_person`` (TRIAGE hears of it: its clock stops,
    its ticket says so)."""
    event = _apply(ctx, incident, Action.ESCALATE, note, to_role=to_role, to_person=to_person)
    events.publish(ctx, events.HANDED_OVER, incident, event)
    return event


def resolve(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    _check(ctx, "incident.resolve")
    incident = load(ctx, key)
    event = _apply(ctx, incident, Action.RESOLVE, note)
    incident.resolved_at = ctx.now
    cancel_timers(ctx, incident)
    events.publish(ctx, events.RESOLVED, incident, event)
    watchers = [p for p in _watchers(ctx, incident) if p != ctx.actor]
    notify(
        ctx,
        incident,
        people=watchers,
        subject=f"Resolved: {incident.title}",
        body=note,
        because=event,
    )
    return incident


def _watchers(ctx: Ctx, incident: Incident) -> list[str]:
    """Whoever owns the incident, or everyone holding its owning role if nobody took it."""
    if incident.owner_person:
        return [incident.owner_person]
    return people.holders(ctx, incident.owner_role) if incident.owner_role else []


def reopen(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    _check(ctx, "incident.reopen")
    incident = load(ctx, key)
    event = _apply(ctx, incident, Action.REOPEN, note)
    incident.resolved_at = None
    events.publish(ctx, events.REOPENED, incident, event)
    return incident


def close(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    """Close after the post mortem; only the managers may, and only once no stage's guard
    refuses (``events.CLOSING``: POST MORTEM wants a complete or waived post-mortem,
    COMMUNICATE a final update to every customer, or a waiver)."""
    _check(ctx, "incident.close")
    incident = load(ctx, key)
    lifecycle.apply(state_of(incident), Action.CLOSE)  # an illegal move is refused first
    events.ask(ctx, events.CLOSING, incident)
    event = _apply(ctx, incident, Action.CLOSE, note)
    events.publish(ctx, events.CLOSED, incident, event)
    return incident


def claim(ctx: Ctx, key: str) -> Incident:
    """Take over an incident's triage or work from whoever has it now."""
    incident = load(ctx, key)
    if ctx.actor not in people.members(ctx, incident.owner_role or ""):
        raise InvalidInput("person", f"{ctx.actor} does not hold role {incident.owner_role}")
    before = incident.owner_person
    if before == ctx.actor:
        return incident
    incident.owner_person, incident.updated_at = ctx.actor, ctx.now
    event = record(ctx, incident, "claimed", change=Change("owner_person", before, ctx.actor))
    announce.changed(ctx, incident, event, f"{ctx.actor} took it over from {before or 'nobody'}")
    return incident
