"""Read-only questions the faces ask: lists, one incident, its timeline, the engine's backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
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


@dataclass(frozen=True)
class Page:
    items: list[Incident]
    total: int
    limit: int
    offset: int


def list_incidents(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    query = select(Incident)
    if status:
        query = query.where(Incident.status == status)
    if severity:
        query = query.where(Incident.severity == severity)
    if stage:
        query = query.where(Incident.stage == stage)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Incident.id.desc()).limit(limit).offset(offset)).all()
    return Page(list(items), total, limit, offset)


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
    session: Session, *, channel: str | None = None, state: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    query = select(OutboxMessage)
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


def backlog(session: Session, now: datetime) -> Backlog:
    by_status: dict[str, int] = {
        status: count
        for status, count in session.execute(
            select(Incident.status, func.count()).group_by(Incident.status)
        )
    }
    due = session.scalar(select(func.count()).where(Timer.state == "pending", Timer.due_at <= now))
    pending = session.scalar(select(func.count()).where(Timer.state == "pending"))
    outbox: dict[str, int] = {
        state: count
        for state, count in session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
    }
    failed = session.scalar(select(func.count()).where(Timer.state == "failed"))
    alerts_failed = session.scalar(
        select(func.count()).where(Alert.pending.is_(False), Alert.error.is_not(None))
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
        .where(Alert.pending.is_(False), Alert.error.is_not(None))
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
        session.scalar(select(func.min(Alert.retry_at)).where(Alert.pending.is_(True))),
    )
