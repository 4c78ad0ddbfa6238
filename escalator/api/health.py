"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from escalator.api.deps import ServicesDep
from escalator.api.problems import MEDIA_TYPE, problem
from escalator.app import Services
from escalator.domain.durations import format_duration
from escalator.process.communicate import view as communicate
from escalator.process.core import queries
from escalator.process.postmortem import measures
from escalator.store.migrate import current_revision, head_revision

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import WorkerHeartbeat

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={
        503: {
            "description": "Not ready: the database, its schema or the worker; the detail says",
            "content": {MEDIA_TYPE: {}},
        }
    },
)
def readyz(svc: ServicesDep) -> dict[str, str] | Response:
    """Ready: the database answers, its schema is at the newest migration, and a worker has
    got through a round of work lately (``ESCALATOR_WORKER_STALE_SECONDS``) — without one,
    nothing is paged, however healthy the API looks."""
    try:
        with svc.db.read() as session:
            session.execute(text("SELECT 1"))
        current = current_revision(svc.db)
    except Exception as exc:
        return problem(503, "Not ready", f"database unreachable: {type(exc).__name__}: {exc}")
    head = head_revision()
    if current != head:
        return problem(
            503,
            "Not ready",
            f"database schema at {current}, code expects {head}: run `escalator migrate`",
        )
    with svc.db.read() as session:
        beats = queries.workers(session)
    now = svc.clock.now()
    stale = timedelta(seconds=svc.settings.worker_stale_seconds)
    running = [w for w in beats if w.stopped_at is None]
    if not any(w.progress_at and now - w.progress_at <= stale for w in running):
        return problem(503, "Not ready", _no_worker(running, now, stale))
    return {"status": "ready", "schema": head or ""}


def _no_worker(running: list[WorkerHeartbeat], now: datetime, stale: timedelta) -> str:
    if not running:
        return (
            "no worker is running, so nothing is paged: run `escalator worker` or serve with "
            "ESCALATOR_RUN_WORKER=true"
        )
    last = running[0]
    since = f"since {last.progress_at:%H:%M:%S} UTC" if last.progress_at else "ever"
    error = f"; last error: {last.last_error}" if last.last_error else ""
    return (
        f"no worker has got through a round of work in the last {format_duration(stale)} "
        f"(worker {last.worker_id}: none {since}{error})"
    )


class _Backlog:
    """Read at scrape time, so every instance reports the shared database's truth."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def collect(self) -> Iterator[Metric]:
        now = self.svc.clock.now()
        with self.svc.db.read() as session:
            b = queries.backlog(session, now)
            beats = [w for w in queries.workers(session) if w.stopped_at is None]
            told = communicate.figures(session, now)
            histograms, breaches = measures.read(session)
        incidents = GaugeMetricFamily(
            "escalator_incidents",
            "Incidents by status (open, acknowledged, resolved; closed ones are not counted)",
            labels=["status"],
        )
        for status in queries.LIVE_STATUSES:
            incidents.add_metric([status], b.incidents_by_status.get(status, 0))
        yield incidents
        yield GaugeMetricFamily(
            "escalator_timers_due", "Timers past due, not yet fired", value=b.timers_due
        )
        yield GaugeMetricFamily(
            "escalator_timers_pending", "Timers waiting to fire", value=b.timers_pending
        )
        outbox = GaugeMetricFamily(
            "escalator_outbox_messages",
            "Outbox messages waiting to be sent, and dead letters",
            labels=["state"],
        )
        for state in queries.WAITING_STATES:
            outbox.add_metric([state], b.outbox_by_state.get(state, 0))
        yield outbox
        yield GaugeMetricFamily(
            "escalator_timers_failed",
            "Timers set aside after their handler kept failing",
            value=b.timers_failed,
        )
        yield GaugeMetricFamily(
            "escalator_alerts_failed",
            "Alert changes set aside after judging them kept failing",
            value=b.alerts_failed,
        )
        yield from _workers(beats, now)
        yield from _customers(told)
        yield from _process(histograms, breaches)


def _customers(told: communicate.Figures) -> Iterator[Metric]:
    """COMMUNICATE: updates delivered, contacts overdue now, time between updates."""
    sent = GaugeMetricFamily(
        "escalator_customer_updates_sent",
        "Updates delivered to customers (calls logged included), by channel",
        labels=["channel"],
    )
    for channel in ("email", "forum", "phone"):
        sent.add_metric([channel], told.sent.get(channel, 0))
    yield sent
    yield GaugeMetricFamily(
        "escalator_customer_updates_overdue",
        "Contacts of open incidents whose update is overdue now",
        value=told.overdue,
    )
    between = HistogramMetricFamily(
        "escalator_customer_update_interval_seconds",
        "Time between a customer's updates (from the clock's start for the first), by severity",
        labels=["severity"],
    )
    for severity, (counts, count, total) in sorted(told.intervals.items()):
        bounds = [str(float(b)) for b in communicate.INTERVAL_BUCKETS]
        buckets = [*zip(bounds, counts, strict=True), ("+Inf", count)]
        between.add_metric([severity], buckets, total)
    yield between


def _process(histograms: list[measures.Histogram], breaches: dict[str, int]) -> Iterator[Metric]:
    """The process as the weekly report sees it, counted as it happened (a few rows)."""
    for h in histograms:
        yield HistogramMetricFamily(
            f"escalator_{h.name}", h.help, buckets=h.buckets, sum_value=h.sum
        )
    counter = CounterMetricFamily(
        "escalator_clock_breaches", "Clocks that ran out, by clock", labels=["clock"]
    )
    for clock, count in breaches.items():
        counter.add_metric([clock], count)
    yield counter


def _workers(beats: list[WorkerHeartbeat], now: datetime) -> Iterator[Metric]:
    """Per running worker: seconds since its last successful round, failing rounds in a row."""
    age = GaugeMetricFamily(
        "escalator_worker_progress_age_seconds",
        "Seconds since the worker last got through a round of work (alert on this)",
        labels=["worker"],
    )
    failing = GaugeMetricFamily(
        "escalator_worker_failing_rounds", "Rounds in a row that raised", labels=["worker"]
    )
    for beat in beats:
        since = beat.progress_at or beat.started_at
        age.add_metric([beat.worker_id], (now - since).total_seconds())
        failing.add_metric([beat.worker_id], beat.failures)
    yield age
    yield failing


@router.get("/metrics", response_class=Response)
def metrics(svc: ServicesDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Backlog(svc))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
