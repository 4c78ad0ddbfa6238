"""COMMUNICATE: the update clock. Each contact is owed an update the severity's cadence after
the last one (``communication.cadence``; ``untriaged`` for a customer report not yet given a
severity), counted in the account's working hours when it keeps them, or by the time the
last update promised if that is sooner. Second tier on duty is reminded
``communication.reminder_before`` ahead of the earliest due time; at it, the update is
overdue and the Support Manager is told.

The clock runs while the incident is open and has a customer (it was reported by one) or a
severity. A new severity re-plans it; resolving stops it, and the contacts are then owed the
news that it is resolved."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from escalator.config.process import Process
from escalator.domain.cadence import next_due, reminder_at
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.domain.roles import SUPPORT_MANAGER
from escalator.process.core import announce, people
from escalator.process.core.context import Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, record, schedule
from escalator.store.models import Contact, Incident, TimelineEvent, Timer

REMINDER = "communicate.reminder"
OVERDUE = "communicate.overdue"
TIMERS = (REMINDER, OVERDUE)


def contacts_of(ctx: Ctx, incident: Incident) -> list[Contact]:
    query = select(Contact).where(Contact.incident_id == incident.id).order_by(Contact.id)
    return list(ctx.session.scalars(query))


def label(contact: Contact) -> str:
    """How a contact is named in notes: their name and where they are reached."""
    if contact.channel == "forum":
        where = f"forum topic {contact.address.rsplit(':', 1)[-1]}"
    else:
        where = contact.address
    return f"{contact.name} <{where}>" if contact.name and contact.name != where else where


def runs(incident: Incident) -> bool:
    """The clock runs for an open incident with a customer or a severity."""
    active = Status(incident.status) in ACTIVE
    return active and (incident.source == "customer" or bool(incident.severity))


def cadence(process: Process, incident: Incident) -> timedelta:
    """How long after the last update the next is due, by the incident's severity."""
    communication = process.spec.communication
    for severity, every in communication.cadence.items():
        if severity == incident.severity:
            return every
    return communication.untriaged


def replan(ctx: Ctx, incident: Incident) -> None:
    """Work out every contact's due time again and set the incident's reminder and overdue
    timers to the earliest of them."""
    cancel_timers(ctx, incident, TIMERS)
    contacts = contacts_of(ctx, incident)
    if not runs(incident):
        return
    every = cadence(ctx.process, incident)
    hours = ctx.process.working_hours(incident.details.get("account"))
    for contact in contacts:
        if contact.owed_since is None:
            contact.owed_since = ctx.now
        since = contact.last_told_at or contact.owed_since
        contact.due_at = next_due(since, every, promised=contact.promised_at, hours=hours)
    dues = [c.due_at for c in contacts if c.due_at is not None]
    if not dues:
        return
    due = min(dues)
    payload = {"due_at": due.isoformat()}
    schedule(ctx, incident, OVERDUE, max(due, ctx.now), payload)
    remind = reminder_at(due, ctx.process.spec.communication.reminder_before, ctx.now)
    if remind is not None:
        schedule(ctx, incident, REMINDER, remind, payload)


def owed(ctx: Ctx, incident: Incident, by: datetime) -> list[Contact]:
    """The contacts due by ``by``, earliest first."""
    rows = [c for c in contacts_of(ctx, incident) if c.due_at is not None and c.due_at <= by]
    return sorted(rows, key=lambda c: c.due_at or ctx.now)


def _second_tier(ctx: Ctx) -> list[str]:
    return people.holders(ctx, ctx.process.spec.communication.by_role)


def on_reminder(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """Shortly before an update is due: remind second tier on duty."""
    if not runs(incident):
        return
    due = min((c.due_at for c in contacts_of(ctx, incident) if c.due_at), default=None)
    if due is None or due <= ctx.now:
        return
    names = ", ".join(label(c) for c in owed(ctx, incident, due))
    left = _minutes(due - ctx.now)
    event = record(
        ctx,
        incident,
        "update_reminder",
        note=f"customer update due at {due:%H:%M} UTC ({left}) for {names}",
        data={"due_at": due.isoformat()},
    )
    notify(
        ctx,
        incident,
        people=_second_tier(ctx),
        subject=f"Customer update due {left}: {incident.title}",
        body=f"Due at {due:%Y-%m-%d %H:%M} UTC for {names}.",
        because=event,
    )


def on_overdue(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """The update is due and nobody was told: the Support Manager (and second tier) hear."""
    if not runs(incident):
        return
    late = owed(ctx, incident, ctx.now)
    if not late:
        return
    due = late[0].due_at
    assert due is not None
    names = ", ".join(label(c) for c in late)
    event = record(
        ctx,
        incident,
        "update_overdue",
        note=f"customer update overdue since {due:%H:%M} UTC for {names}",
        data={"due_at": due.isoformat(), "contacts": [c.id for c in late]},
    )
    told = people.holders(ctx, SUPPORT_MANAGER) + _second_tier(ctx)
    notify(
        ctx,
        incident,
        people=told,
        subject=f"Customer update overdue: {incident.title}",
        body=f"{names} {'were' if len(late) > 1 else 'was'} owed an update at "
        f"{due:%Y-%m-%d %H:%M} UTC and {'have' if len(late) > 1 else 'has'} not had one.",
        because=event,
    )
    announce.changed(ctx, incident, event, f":warning: customer update overdue for {names}")


def on_severity_changed(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    replan(ctx, incident)


def on_reopened(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    replan(ctx, incident)


def on_resolved(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The cadence stops (resolving cancelled its timers); every contact is now owed the news
    that it is resolved, and second tier is asked to send it."""
    contacts = contacts_of(ctx, incident)
    for contact in contacts:
        contact.due_at = ctx.now
    if not contacts:
        return
    names = ", ".join(label(c) for c in contacts)
    owed_event = record(
        ctx,
        incident,
        "resolution_notice_owed",
        note=f"tell {names} that it is resolved before it closes",
        data={"contacts": [c.id for c in contacts]},
    )
    notify(
        ctx,
        incident,
        people=_second_tier(ctx),
        subject=f"Tell the customer it is resolved: {incident.title}",
        body=f"{incident.key} is resolved. Send the final update to {names}; "
        "the incident cannot close until they are told.",
        because=owed_event,
    )


def _minutes(left: timedelta) -> str:
    minutes = max(1, round(left.total_seconds() / 60))
    return f"in {minutes} min"
