"""Acknowledge, escalate, resolve, reopen and close: the lifecycle moves people make by hand."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from escalator.domain import lifecycle
from escalator.domain.lifecycle import Action, Change
from escalator.domain.permissions import check_action, check_escalation
from escalator.domain.roles import ROLES
from escalator.process import announce, oncall, pages, tickets
from escalator.process.context import SYSTEM, Ctx
from escalator.process.errors import InvalidInput
from escalator.process.notify import notify
from escalator.process.records import cancel_timers, load, record, schedule, state_of
from escalator.store.models import AlertGroup, Incident, TimelineEvent

TRIAGE_TIMERS = ("triage.deadline", "triage.warning")


def _roles(ctx: Ctx) -> frozenset[str]:
    return oncall.roles_of(ctx, ctx.actor)


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
    event = _apply(ctx, incident, Action.ACKNOWLEDGE, note, actor=ctx.actor)
    incident.acknowledged_at = ctx.now
    page = pages.acknowledged(ctx, incident, event)
    if page is not None and page.chain == "on_call" and incident.policy:
        after = timedelta(seconds=int(incident.policy["bring_in_after_seconds"]))
        schedule(ctx, incident, pages.BRING_IN, ctx.now + after, {"page": page.id})
    return incident


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
    if to_role not in ROLES:
        raise InvalidInput("role", f"unknown role {to_role!r}; roles are {', '.join(ROLES)}")
    if ctx.actor != SYSTEM and not by_rule:
        check_escalation(ctx.actor, _roles(ctx), to_role)
    holders = oncall.holders(ctx, to_role)
    if to_person is not None and to_person not in oncall.members(ctx, to_role):
        raise InvalidInput("person", f"{to_person!r} does not hold role {to_role}")
    incident = load(ctx, key)
    target = to_person or (holders[0] if holders else None)
    event = hand_over(ctx, incident, to_role, target, note)
    people = [target] if target else holders
    notify(
        ctx,
        incident,
        people=people,
        subject=f"Escalated to you ({to_role}): {incident.title}",
        body=note,
        because=event,
    )
    return incident


def hand_over(
    ctx: Ctx, incident: Incident, to_role: str, to_person: str | None, note: str
) -> TimelineEvent:
    """Give the incident to ``to_role`` / ``to_person``: the move, the end of the triage
    clock, a ticket comment."""
    event = _apply(ctx, incident, Action.ESCALATE, note, to_role=to_role, to_person=to_person)
    cancel_timers(ctx, incident, TRIAGE_TIMERS)
    tickets.comment(
        ctx,
        incident,
        event,
        f"Escalated to {to_role} ({to_person or 'nobody on duty'}) by {ctx.actor}. {note}".strip(),
    )
    return event


def resolve(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    _check(ctx, "incident.resolve")
    incident = load(ctx, key)
    event = _apply(ctx, incident, Action.RESOLVE, note)
    incident.resolved_at = ctx.now
    cancel_timers(ctx, incident)
    pages.closed(ctx, incident, event)
    # the next alert of its group opens a new incident
    ctx.session.execute(delete(AlertGroup).where(AlertGroup.incident_id == incident.id))
    tickets.close(ctx, incident, event, note or "resolved")
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
    return oncall.holders(ctx, incident.owner_role) if incident.owner_role else []


def reopen(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    _check(ctx, "incident.reopen")
    incident = load(ctx, key)
    _apply(ctx, incident, Action.REOPEN, note)
    incident.resolved_at = None
    return incident


def close(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    """Close after the post mortem; only the managers may."""
    _check(ctx, "incident.close")
    incident = load(ctx, key)
    _apply(ctx, incident, Action.CLOSE, note)
    return incident


def claim(ctx: Ctx, key: str) -> Incident:
    """Take over an incident's triage or work from whoever has it now."""
    incident = load(ctx, key)
    if ctx.actor not in oncall.members(ctx, incident.owner_role or ""):
        raise InvalidInput("person", f"{ctx.actor} does not hold role {incident.owner_role}")
    before = incident.owner_person
    if before == ctx.actor:
        return incident
    incident.owner_person, incident.updated_at = ctx.actor, ctx.now
    event = record(ctx, incident, "claimed", change=Change("owner_person", before, ctx.actor))
    announce.changed(ctx, incident, event, f"{ctx.actor} took it over from {before or 'nobody'}")
    return incident
