"""Read-only questions the faces ask: lists, one incident, its timeline, the engine's backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from escalator.process.core.errors import NotFound
from escalator.process.core.records import incident_id
from escalator.store.models import (
    Alert,
    Incident,
    OutboxMessage,
    TimelineEvent,
    Timer,
    WorkerHeartbeat,
)

COUNT_UP_TO = 10_000  # a list counts this far and no further: a year holds 200,000 incidents


@dataclass(frozen=True)
class Page:
    items: list[Incident]
    total: int  # exact when total_exact, else "at least"
    limit: int
    offset: int
    total_exact: bool = True
    next_before: str | None = None  # the key to list the older ones from, if there are more


def list_incidents(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
    before: int | None = None,
    search: str = "",
    where: ColumnElement[bool] | None = None,
    count_up_to: int | None = None,
) -> Page:
    """Newest first. ``before`` (an incident id) pages by key, which costs the same on the
    last page as on the first; ``offset`` is kept for small lists. ``where``: only these
    (a console queue). The total is counted up to ``count_up_to`` (``COUNT_UP_TO``)."""
    up_to = COUNT_UP_TO if count_up_to is None else count_up_to
    query = select(Incident)
    if where is not None:
        query = query.where(where)
    if status:
        query = query.where(Incident.status == status)
    if severity:
        query = query.where(Incident.severity == severity)
    if stage:
        query = query.where(Incident.stage == stage)
    if search:
        query = query.where(Incident.title.icontains(search, autoescape=True))
    counted = query.with_only_columns(Incident.id).limit(up_to + 1).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    if before is not None:
        query = query.where(Incident.id < before)
    query = query.order_by(Incident.id.desc()).limit(limit + 1).offset(offset)
    if where is not None:
        # a queue's page: its keys first, from the index that holds every column a queue
        # asks, then those rows (never a sort of every live incident's whole row)
        keys = query.with_only_columns(Incident.id)
        query = select(Incident).where(Incident.id.in_(keys)).order_by(Incident.id.desc())
    items = list(session.scalars(query).all())
    more = len(items) > limit
    items = items[:limit]
    return Page(
        items,
        min(total, up_to),
        limit,
        offset,
        total_exact=total <= up_to,
        next_before=items[-1].key if more and items else None,
    )


def get_incident(session: Session, key: str) -> Incident:
    incident = session.get(Incident, incident_id(key))
    if incident is None:
        raise NotFound(f"no incident {key}")
    return incident


def timeline(session: Session, incident: Incident) -> list[TimelineEvent]:
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id)
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    return list(session.scalars(query).all())


def pending_timers(session: Session, incident: Incident) -> list[Timer]:
    query = (
        select(Timer)
        .where(Timer.incident_id == incident.id, Timer.state == "pending")
        .order_by(Timer.due_at)
    )
    return list(session.scalars(query).all())


def messages(
    session: Session,
    *,
    channel: str | None = None,
    state: str | None = None,
    limit: int = 100,
    to: list[str] | None = None,
) -> list[OutboxMessage]:
    """Newest first; ``to``: only those sent to these destinations (a person's own)."""
    query = select(OutboxMessage)
    if to is not None:
        query = query.where(OutboxMessage.destination.in_(to))
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    if state:
        query = query.where(OutboxMessage.state == state)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)).all())


@dataclass(frozen=True)
class Backlog:
    incidents_by_status: dict[str, int]
    timers_due: int
    timers_pending: int
    outbox_by_state: dict[str, int]
    timers_failed: int = 0
    alerts_failed: int = 0  # alert changes set aside because judging them kept failing


LIVE_STATUSES = ("open", "acknowledged", "resolved")  # closed ones pile up by the year
WAITING_STATES = ("pending", "dead")  # sent messages pile up by the million


def backlog(session: Session, now: datetime) -> Backlog:
    """What a scrape reports: each count an index range over what is still live, never a
    scan of a year's closed incidents or sent messages."""
    by_status: dict[str, int] = {
        status: count
        for status, count in session.execute(
            select(Incident.status, func.count())
            .where(Incident.status.in_(LIVE_STATUSES))
            .group_by(Incident.status)
        )
    }
    due = session.scalar(select(func.count()).where(Timer.state == "pending", Timer.due_at <= now))
    pending = session.scalar(select(func.count()).where(Timer.state == "pending"))
    outbox: dict[str, int] = {
        state: count
        for state, count in session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.state.in_(WAITING_STATES))
            .group_by(OutboxMessage.state)
        )
    }
    failed = session.scalar(select(func.count()).where(Timer.state == "failed"))
    alerts_failed = session.scalar(
        select(func.count()).where(Alert.pending == false(), Alert.error.is_not(None))
    )
    return Backlog(by_status, due or 0, pending or 0, outbox, failed or 0, alerts_failed or 0)


def workers(session: Session) -> list[WorkerHeartbeat]:
    """Every worker's heartbeat, running ones first."""
    query = select(WorkerHeartbeat).order_by(
        WorkerHeartbeat.stopped_at.is_not(None), WorkerHeartbeat.beat_at.desc()
    )
    return list(session.scalars(query))


def set_aside(session: Session, limit: int = 50) -> tuple[list[Timer], list[Alert]]:
    """Timers and alert changes the worker gave up on, newest first, with their errors."""
    timers = session.scalars(
        select(Timer).where(Timer.state == "failed").order_by(Timer.id.desc()).limit(limit)
    )
    alerts = session.scalars(
        select(Alert)
        .where(Alert.pending == false(), Alert.error.is_not(None))
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    return list(timers), list(alerts)


def next_due(session: Session) -> tuple[datetime | None, ...]:
    """When the worker next has something to do: the earliest pending timer, timer retry,
    message and alert retry (each an indexed MIN)."""
    return (
        session.scalar(
            select(func.min(Timer.due_at)).where(Timer.state == "pending", Timer.retry_at.is_(None))
        ),
        session.scalar(
            select(func.min(Timer.retry_at)).where(
                Timer.state == "pending", Timer.retry_at.is_not(None)
            )
        ),
        session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.state == "pending")
        ),
        session.scalar(select(func.min(Alert.retry_at)).where(Alert.pending == true())),
    )


def owned_by(session: Session, person: str, *, limit: int = 20) -> list[Incident]:
    """The person's open and acknowledged incidents, oldest first (Slack's ``/escalator mine``)."""
    query = (
        select(Incident)
        .where(Incident.owner_person == person, Incident.status.in_(("open", "acknowledged")))
        .order_by(Incident.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def timers_of(session: Session, incident_ids: list[int]) -> dict[int, list[Timer]]:
    """The pending timers of each of these incidents, soonest first."""
    found: dict[int, list[Timer]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return found
    query = (
        select(Timer)
        .where(Timer.incident_id.in_(incident_ids), Timer.state == "pending")
        .order_by(Timer.due_at)
    )
    for timer in session.scalars(query):
        if timer.incident_id is not None:
            found[timer.incident_id].append(timer)
    return found
