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

from sqlalchemy import delete, func, or_, select, true

from escalator.domain.alerts import AlertStatus
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.domain.retry import backoff
from escalator.process.alert import opening as alert_stage
from escalator.process.core import announce, incidents
from escalator.process.core.context import Ctx
from escalator.process.core.records import record
from escalator.store.models import Alert, AlertGroup, Incident, TimelineEvent
from escalator.store.upsert import claim_group

log = logging.getLogger("escalator.worker")

ATTEMPTS = 5  # an alert change that cannot be judged this often is set aside with its error


def process_pending(ctx: Ctx, *, limit: int = 500, rng: random.Random | None = None) -> int:
    query = (
        select(Alert)
        .where(Alert.pending == true(), or_(Alert.retry_at.is_(None), Alert.retry_at <= ctx.now))
        .order_by(Alert.id)
        .limit(limit)
    )
    if ctx.is_postgres:
        query = query.with_for_update(skip_locked=True)
    alerts = list(ctx.session.scalars(query).all())
    # one lock order for groups across workers: no deadlocks
    for alert in sorted(alerts, key=lambda a: (a.group_key, a.id)):
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


def _active(ctx: Ctx, incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    incident = ctx.session.get(Incident, incident_id)
    return incident if incident is not None and Status(incident.status) in ACTIVE else None


def _judge(ctx: Ctx, alert: Alert) -> None:
    before, now_status = alert.seen_status, alert.status
    alert.pending = False
    alert.seen_status = now_status
    if before == now_status:
        return
    if now_status == AlertStatus.FIRING:
        _fired(ctx, alert, refired=before is not None)
    elif now_status == AlertStatus.RESOLVED:
        _resolved(ctx, alert)
    else:
        incident = _active(ctx, alert.incident_id)
        if incident is not None:
            event = record(ctx, incident, "alert_insufficient_data", note=alert.title)
            announce.alert_changed(ctx, incident, event, alert.title, "insufficient data")


def _fired(ctx: Ctx, alert: Alert, *, refired: bool) -> None:
    incident = _active(ctx, alert.incident_id)
    if incident is None:
        group = claim_group(ctx.session, alert.group_key, ctx.now)
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
