"""ALERT, the deciding half: turn stored alert changes into incidents and timeline events.

Run by the worker over alerts the intake marked ``pending``. Each alert's change is judged
against what the engine last saw of it (``seen_status``):

* new and firing, or firing again after resolving — joins its group's open incident, or
  opens one (alerts sharing the process file's ``intake.group_by`` labels fold together);
* firing → resolved — recorded; when every alert of the incident has resolved, the incident
  is resolved by the system and the people watching it are told;
* → insufficient data (CloudWatch) — recorded on the incident;
* the same status posted again — nothing new to say.
"""

from __future__ import annotations

import logging
import random

from sqlalchemy import bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy.orm import load_only

from escalator.domain.alerts import AlertStatus
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.domain.retry import backoff
from escalator.process.alert import opening as alert_stage
from escalator.process.core import announce, incidents
from escalator.process.core.context import Ctx
from escalator.process.core.records import record
from escalator.store.models import Alert, AlertGroup, Incident, TimelineEvent
from escalator.store.upsert import claim_group, claim_groups

log = logging.getLogger("escalator.worker")

ATTEMPTS = 5  # an alert change that cannot be judged this often is set aside with its error


# what judging an alert reads; the rest (labels, annotations, links: JSON to decode) is loaded
# only for an alert that opens an incident
_JUDGED = (
    Alert.id,
    Alert.source,
    Alert.fingerprint,
    Alert.status,
    Alert.seen_status,
    Alert.title,
    Alert.group_key,
    Alert.incident_id,
    Alert.pending,
    Alert.attempts,
    Alert.retry_at,
    Alert.error,
)


def process_pending(
    ctx: Ctx, *, limit: int = 500, rng: random.Random | None = None, together: bool = False
) -> int:
    """Judge up to ``limit`` pending alert changes; returns how many were taken.

    One at a time (the default), each alert is judged in a savepoint of its own: one that
    raises is rolled back alone and retried with backoff, then set aside. ``together``, the
    batch is judged as one: the incidents and groups it touches are loaded in a few queries
    and its rows written in one flush, not a savepoint and a few statements per alert. An
    alert that raises then raises out of the whole batch: the caller rolls it back and judges
    the batch again one at a time (see ``Worker.ingest_alerts``)."""
    query = (
        select(Alert)
        .options(load_only(*_JUDGED))
        .where(Alert.pending == true(), or_(Alert.retry_at.is_(None), Alert.retry_at <= ctx.now))
        .order_by(Alert.id)
        .limit(limit)
    )
    if ctx.is_postgres:
        query = query.with_for_update(skip_locked=True)
    alerts = list(ctx.session.scalars(query).all())
    # one lock order for groups across workers: no deadlocks
    alerts.sort(key=lambda a: (a.group_key, a.id))
    if together:
        _judge_together(ctx, alerts)
        return len(alerts)
    for alert in alerts:
        try:
            with ctx.session.begin_nested():
                _judge(ctx, alert)
                alert.attempts, alert.retry_at, alert.error = 0, None, None
        except Exception as exc:  # one alert that cannot be judged must not stop the rest
            log.exception("alert %s (%s) could not be judged", alert.id, alert.fingerprint)
            alert.attempts += 1
            alert.error = f"{type(exc).__name__}: {exc}"[:2000]
            if alert.attempts >= ATTEMPTS:
                alert.pending, alert.retry_at = False, None  # set aside, with its error
            else:
                jitter = (rng or random).random()
                alert.retry_at = ctx.now + backoff(alert.attempts, jitter=jitter)
    return len(alerts)


def _judge_together(ctx: Ctx, alerts: list[Alert]) -> None:
    """Judge ``alerts`` (sorted by group) as :func:`_judge` would one by one, reading what
    they need up front: their incidents, and the groups of those that fire with none open."""
    held = _load(ctx, {a.incident_id for a in alerts if a.incident_id is not None})
    homeless = [
        a.group_key
        for a in alerts
        if a.status == AlertStatus.FIRING
        and a.seen_status != AlertStatus.FIRING
        and _active(ctx, a.incident_id) is None
    ]
    groups = claim_groups(ctx.session, homeless, ctx.now)
    held += _load(ctx, {g.incident_id for g in groups.values() if g.incident_id is not None})
    for alert in alerts:
        _judge(ctx, alert, groups)
        if alert.status != AlertStatus.FIRING:  # its incident may have resolved: its group
            groups.pop(alert.group_key, None)  # row is gone, and is claimed afresh if needed
        if alert.attempts or alert.retry_at is not None or alert.error is not None:
            alert.attempts, alert.retry_at, alert.error = 0, None, None
    _write(ctx, alerts)
    del held  # kept until here: the session's identity map holds them only weakly


_EVENT_COLUMNS = tuple(c.name for c in TimelineEvent.__table__.columns if c.name != "id")
_JUDGMENT = ("pending", "seen_status", "incident_id", "attempts", "retry_at", "error")
_table = Alert.__table__
_SAVE_JUDGMENT = (
    update(_table)
    .where(_table.c.id == bindparam("alert_id"))
    .values({name: bindparam(name) for name in _JUDGMENT})
)


def _write(ctx: Ctx, alerts: list[Alert]) -> None:
    """Write what the batch judged with one executemany for its alerts and one for its new
    timeline events, past the ORM's flush: it would compare every alert's attributes to find
    what changed, and keep books on every new event (about 15% of a batch's CPU, though it
    too writes them in one statement, see ``store/ids.py``); nothing here needs the events'
    ids, and no row refers to them."""
    session = ctx.session
    events = [row for row in session.new if isinstance(row, TimelineEvent)]
    judged = [{"alert_id": a.id, **{name: getattr(a, name) for name in _JUDGMENT}} for a in alerts]
    for row in (*events, *alerts):  # written below, not by the ORM's flush
        session.expunge(row)
    session.flush()  # the rest of what the batch did: incidents opened or resolved, groups
    if judged:
        session.execute(_SAVE_JUDGMENT, judged)
    if events:
        values = [{name: getattr(row, name) for name in _EVENT_COLUMNS} for row in events]
        session.execute(insert(TimelineEvent.__table__), values)


def _load(ctx: Ctx, ids: set[int]) -> list[Incident]:
    """The batch's incidents, locked on PostgreSQL (in id order, as the timer batches lock
    them): a person resolving one meanwhile is waited for, not judged against stale state."""
    if not ids:
        return []
    query = select(Incident).where(Incident.id.in_(sorted(ids))).order_by(Incident.id)
    if ctx.is_postgres:
        query = query.with_for_update()
    return list(ctx.session.scalars(query))


def _active(ctx: Ctx, incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    incident = ctx.session.get(Incident, incident_id)
    return incident if incident is not None and Status(incident.status) in ACTIVE else None


def _judge(ctx: Ctx, alert: Alert, groups: dict[str, AlertGroup] | None = None) -> None:
    before, now_status = alert.seen_status, alert.status
    alert.pending = False
    alert.seen_status = now_status
    if before == now_status:
        return
    if now_status == AlertStatus.FIRING:
        _fired(ctx, alert, refired=before is not None, groups=groups)
    elif now_status == AlertStatus.RESOLVED:
        _resolved(ctx, alert)
    else:
        incident = _active(ctx, alert.incident_id)
        if incident is not None:
            event = record(ctx, incident, "alert_insufficient_data", note=alert.title)
            announce.alert_changed(ctx, incident, event, alert.title, "insufficient data")


def _fired(
    ctx: Ctx, alert: Alert, *, refired: bool, groups: dict[str, AlertGroup] | None = None
) -> None:
    incident = _active(ctx, alert.incident_id)
    if incident is None:
        group = (groups or {}).get(alert.group_key) or claim_group(
            ctx.session, alert.group_key, ctx.now
        )
        incident = _active(ctx, group.incident_id)
        if incident is None:
            incident = alert_stage.open_incident(
                ctx,
                title=alert.title,
                source="alarm",
                channel=alert.source,
                description=alert.description,
                details={
                    "service": alert.service,
                    "severity": alert.severity,
                    "labels": alert.labels,
                    "links": alert.links,
                    "group": alert.group_key,
                },
            )
            group.incident_id = incident.id
            alert.incident_id = incident.id
            return
    alert.incident_id = incident.id
    kind = "alert_refired" if refired else "alert_fired"
    event = record(ctx, incident, kind, note=alert.title, data={"fingerprint": alert.fingerprint})
    announce.alert_changed(ctx, incident, event, alert.title, kind[6:])


def _resolved(ctx: Ctx, alert: Alert) -> None:
    incident = _active(ctx, alert.incident_id)
    if incident is None:
        return
    event = record(ctx, incident, "alert_resolved", note=alert.title)
    still_firing = ctx.session.scalar(
        # as the engine has seen them: alerts of this post not yet judged still count
        select(func.count()).where(
            Alert.incident_id == incident.id, Alert.seen_status == AlertStatus.FIRING
        )
    )
    if still_firing:
        announce.alert_changed(ctx, incident, event, alert.title, "resolved")
        return
    incidents.resolve(ctx, incident.key, note="all alerts resolved at the source")


def release_group(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The incident resolved: the next alert of its group opens a new incident."""
    ctx.session.execute(delete(AlertGroup).where(AlertGroup.incident_id == incident.id))
