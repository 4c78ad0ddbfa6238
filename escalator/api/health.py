"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from escalator.api.deps import ServicesDep
from escalator.api.problems import problem
from escalator.app import Services
from escalator.domain.lifecycle import Status
from escalator.process import queries
from escalator.store.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(svc: ServicesDep) -> dict[str, str] | Response:
    """The database answers and its schema is at the newest migration."""
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
    return {"status": "ready", "schema": head or ""}


class _Backlog:
    """Read at scrape time, so every instance reports the shared database's truth."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def collect(self) -> Iterator[Metric]:
        with self.svc.db.read() as session:
            b = queries.backlog(session, self.svc.clock.now())
        incidents = GaugeMetricFamily(
            "escalator_incidents", "Incidents by status", labels=["status"]
        )
        for status in Status:
            incidents.add_metric([status.value], b.incidents_by_status.get(status.value, 0))
        yield incidents
        yield GaugeMetricFamily(
            "escalator_timers_due", "Timers past due, not yet fired", value=b.timers_due
        )
        yield GaugeMetricFamily(
            "escalator_timers_pending", "Timers waiting to fire", value=b.timers_pending
        )
        outbox = GaugeMetricFamily(
            "escalator_outbox_messages", "Outbox messages by state", labels=["state"]
        )
        for state in ("pending", "sent", "dead"):
            outbox.add_metric([state], b.outbox_by_state.get(state, 0))
        yield outbox


@router.get("/metrics", response_class=Response)
def metrics(svc: ServicesDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Backlog(svc))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
