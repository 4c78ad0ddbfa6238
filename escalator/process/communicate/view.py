"""COMMUNICATE: what the faces show. The customer panel of an incident (its contacts, each
with their ledger and when they are owed the next update, and a draft), the "Updates due"
queue of second tier, and the figures for ``/metrics``."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.process.communicate import clock, closing, drafts
from escalator.process.core.queries import get_incident
from escalator.store.models import Contact, CustomerUpdate, Incident, OutboxMessage, TimelineEvent

# the buckets of "time between updates" (seconds): 15m, 30m, 1h, 2h, 4h, 8h, 1d, 2d
INTERVAL_BUCKETS = (900, 1800, 3600, 7200, 14400, 28800, 86400, 172800)


@dataclass(frozen=True)
class Entry:
    """A ledger row as people see it: ``state`` is pending, sent, failed (its message was
    dead-lettered: ``error`` says why), received or unread."""

    row: CustomerUpdate
    state: str
    error: str | None = None


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    label: str
    entries: list[Entry]
    unread: int
    overdue: bool


@dataclass(frozen=True)
class Panel:
    incident: Incident
    contacts: list[ContactView]
    draft: str
    suggested_next: str  # the cadence, as a default for "next update in"
    needs_next: bool  # the incident is open: an update must promise the next one
    untold: list[Contact]  # resolved, and not yet told so
    waiver: TimelineEvent | None


def _entries(session: Session, rows: Sequence[CustomerUpdate]) -> list[Entry]:
    waiting = [r.outbox_id for r in rows if r.state == "pending" and r.outbox_id]
    dead: dict[int, str] = {}
    if waiting:
        query = select(OutboxMessage.id, OutboxMessage.last_error).where(
            OutboxMessage.id.in_(waiting), OutboxMessage.state == "dead"
        )
        dead = {mid: error or "" for mid, error in session.execute(query)}
    out = []
    for row in rows:
        if row.direction == "in":
            out.append(Entry(row, "received" if row.read_at else "unread"))
        elif row.state == "pending" and row.outbox_id in dead:
            out.append(Entry(row, "failed", dead[row.outbox_id]))
        else:
            out.append(Entry(row, row.state))
    return out


def contacts(session: Session, incident: Incident, now: datetime) -> list[ContactView]:
    people = session.scalars(
        select(Contact).where(Contact.incident_id == incident.id).order_by(Contact.id)
    ).all()
    rows = session.scalars(
        select(CustomerUpdate)
        .where(CustomerUpdate.incident_id == incident.id)
        .order_by(CustomerUpdate.created_at, CustomerUpdate.id)
    ).all()
    entries = _entries(session, rows)
    running = Status(incident.status) in ACTIVE  # once resolved, only the final news is owed
    views = []
    for contact in people:
        mine = [e for e in entries if e.row.contact_id == contact.id]
        views.append(
            ContactView(
                contact,
                clock.label(contact),
                mine,
                sum(1 for e in mine if e.state == "unread"),
                running and contact.due_at is not None and contact.due_at <= now,
            )
        )
    return views


def panel(session: Session, process: Process, key: str, now: datetime, *, sender: str) -> Panel:
    incident = get_incident(session, key)
    views = contacts(session, incident, now)
    open_ = Status(incident.status) in ACTIVE
    every = clock.cadence(process, incident)
    resolved = Status(incident.status) == Status.RESOLVED
    return Panel(
        incident=incident,
        contacts=views,
        draft=drafts.draft(session, process, incident, [v.contact for v in views], sender=sender),
        suggested_next=format_duration(every),
        needs_next=open_,
        untold=closing.not_told(session, incident) if resolved else [],
        waiver=closing.waiver(session, incident) if resolved else None,
    )


@dataclass(frozen=True)
class Due:
    """One incident of the "Updates due" queue."""

    incident: Incident
    due_at: datetime | None  # the earliest contact's (None: only unread replies)
    owed: list[str]  # who is owed, earliest first
    unread: int
    resolution: bool  # resolved: the final update is owed

    def left(self, now: datetime) -> timedelta | None:
        return self.due_at - now if self.due_at else None


def due(session: Session, now: datetime, limit: int = 200) -> list[Due]:
    """Incidents owing a customer an update (soonest first), then those with unread replies."""
    live = [s.value for s in (*ACTIVE, Status.RESOLVED)]
    owed = session.execute(
        select(Contact, Incident)
        .join(Incident, Incident.id == Contact.incident_id)
        .where(Contact.due_at.is_not(None), Incident.status.in_(live))
        .order_by(Contact.due_at, Contact.id)
    ).all()
    unread = dict(
        session.execute(
            select(CustomerUpdate.incident_id, func.count())
            .where(CustomerUpdate.direction == "in", CustomerUpdate.read_at.is_(None))
            .group_by(CustomerUpdate.incident_id)
        ).all()
    )
    queue: dict[int, Due] = {}
    for contact, incident in owed:
        item = queue.get(incident.id)
        if item is None:
            queue[incident.id] = Due(
                incident,
                contact.due_at,
                [clock.label(contact)],
                int(unread.get(incident.id, 0)),
                incident.status == Status.RESOLVED.value,
            )
        else:
            item.owed.append(clock.label(contact))
    others = [i for i in unread if i not in queue]
    if others:
        for incident in session.scalars(select(Incident).where(Incident.id.in_(others))):
            queue[incident.id] = Due(incident, None, [], int(unread[incident.id]), False)
    return list(queue.values())[:limit]


@dataclass(frozen=True)
class Figures:
    sent: dict[str, int]  # updates delivered, by channel
    overdue: int  # contacts whose update is overdue now
    # by severity: (count in each of INTERVAL_BUCKETS, count, sum of seconds)
    intervals: dict[str, tuple[list[int], int, int]]


def figures(session: Session, now: datetime) -> Figures:
    sent = dict(
        session.execute(
            select(Contact.channel, func.count())
            .join(CustomerUpdate, CustomerUpdate.contact_id == Contact.id)
            .where(CustomerUpdate.direction == "out", CustomerUpdate.state == "sent")
            .group_by(Contact.channel)
        ).all()
    )
    overdue = session.scalar(
        select(func.count())
        .select_from(Contact)
        .join(Incident, Incident.id == Contact.incident_id)
        .where(Contact.due_at <= now, Incident.status.in_([s.value for s in ACTIVE]))
    )
    seconds = CustomerUpdate.since_last_seconds
    buckets = [func.sum(case((seconds <= b, 1), else_=0)) for b in INTERVAL_BUCKETS]
    rows = session.execute(
        select(CustomerUpdate.severity, *buckets, func.count(), func.sum(seconds))
        .where(
            CustomerUpdate.direction == "out",
            CustomerUpdate.state == "sent",
            seconds.is_not(None),
        )
        .group_by(CustomerUpdate.severity)
    ).all()
    intervals = {
        str(row[0] or "none"): ([int(v or 0) for v in row[1:-2]], int(row[-2]), int(row[-1] or 0))
        for row in rows
    }
    return Figures({str(k): int(v) for k, v in sent.items()}, int(overdue or 0), intervals)


@dataclass(frozen=True)
class Punctuality:
    """Updates delivered in a period: how many, how many by the time they were owed, and the
    median lateness of the late ones."""

    delivered: int
    on_time: int
    late_seconds_median: float | None


def punctuality(
    session: Session, start: datetime, end: datetime, *, final_grace: timedelta
) -> Punctuality:
    """The updates (and final updates) delivered in [start, end), against when each contact
    was owed one as it was written. The final update is owed the moment the incident
    resolves, so it counts as on time when delivered within ``final_grace`` of that
    (``communication.reminder_before``: the lead second tier gets before any other update)."""
    rows = session.execute(
        select(CustomerUpdate.sent_at, CustomerUpdate.owed_by, CustomerUpdate.kind).where(
            CustomerUpdate.direction == "out",
            CustomerUpdate.state == "sent",
            CustomerUpdate.kind.in_(("update", "resolution")),
            CustomerUpdate.sent_at >= start,
            CustomerUpdate.sent_at < end,
        )
    ).all()
    late = sorted(
        (sent - owed).total_seconds()
        for sent, owed, kind in (
            (sent, owed + final_grace if kind == "resolution" and owed else owed, kind)
            for sent, owed, kind in rows
        )
        if owed is not None and sent > owed
    )
    return Punctuality(len(rows), len(rows) - len(late), statistics.median(late) if late else None)
