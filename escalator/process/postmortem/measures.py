"""The process as ``/metrics`` shows it, so that a team's Grafana charts what the weekly report
does: histograms of the time to acknowledge, to triage and to resolve, and counters of clock
breaches by clock. Each is counted the moment it happens (subscribed in ``process/stages.py``)
into a handful of ``metric_counts`` rows, so a scrape reads a few rows, never the incidents."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalator.process.core.context import Ctx
from escalator.store.models import Incident, MetricCount, TimelineEvent
from escalator.store.upsert import dialect_insert

ACKNOWLEDGE = "time_to_acknowledge_seconds"
TRIAGE = "time_to_triage_seconds"
RESOLVE = "time_to_resolve_seconds"
HISTOGRAMS = {
    ACKNOWLEDGE: "Seconds from an incident opening to its first acknowledgement",
    TRIAGE: "Seconds from an incident opening to its first severity assessment",
    RESOLVE: "Seconds from an incident opening to its first resolution",
}
BREACHES = "clock_breaches"
CLOCKS = ("triage", "low_severity_resolution", "high_severity_resolution")
# bucket upper bounds in seconds: 1m 5m 10m 15m 30m 1h 2h 4h 8h 1d 2d 1w
BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
INF = "+Inf"
TOTAL = ""  # the row holding a histogram's count and sum


def _add(ctx: Ctx, metric: str, label: str, count: int, total: float) -> None:
    insert = dialect_insert(ctx.session, MetricCount.__table__).values(
        metric=metric, label=label, count=count, total=total
    )
    table = MetricCount.__table__.c
    ctx.session.execute(
        insert.on_conflict_do_update(
            index_elements=["metric", "label"],
            set_={
                "count": table.count + insert.excluded.count,
                "total": table.total + insert.excluded.total,
            },
        )
    )


def observe(ctx: Ctx, metric: str, seconds: float) -> None:
    bucket = next((str(b) for b in BUCKETS if seconds <= b), INF)
    _add(ctx, metric, bucket, 1, seconds)
    _add(ctx, metric, TOTAL, 1, seconds)


def _first(ctx: Ctx, incident: Incident, kind: str) -> bool:
    """Whether the incident's latest ``kind`` move is its first (each move changes the
    status once; bounded by the incident's index)."""
    count = ctx.session.scalar(
        select(func.count())
        .select_from(TimelineEvent)
        .where(
            TimelineEvent.incident_id == incident.id,
            TimelineEvent.kind == kind,
            TimelineEvent.field == "status",
        )
    )
    return count == 1


def _since_opened(ctx: Ctx, incident: Incident) -> float:
    return max(0.0, (ctx.now - incident.created_at).total_seconds())


def on_acknowledged(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    if _first(ctx, incident, "acknowledge"):
        observe(ctx, ACKNOWLEDGE, _since_opened(ctx, incident))


def on_triaged(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    if event.before is None:  # its first severity
        observe(ctx, TRIAGE, _since_opened(ctx, incident))


def on_resolved(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    if _first(ctx, incident, "resolve"):
        observe(ctx, RESOLVE, _since_opened(ctx, incident))


def on_breached(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    _add(ctx, BREACHES, str(event.data.get("clock", "unknown")), 1, 0.0)


@dataclass(frozen=True)
class Histogram:
    name: str
    help: str
    buckets: list[tuple[str, int]]  # cumulative, ending with +Inf
    sum: float


def read(session: Session) -> tuple[list[Histogram], dict[str, int]]:
    """The histograms and the breach counters, from their rows (a few dozen at most)."""
    rows = list(session.scalars(select(MetricCount)))
    histograms = []
    for name, text in HISTOGRAMS.items():
        mine = {r.label: r for r in rows if r.metric == name}
        running, buckets = 0, []
        for bound in [*map(str, BUCKETS), INF]:
            running += mine[bound].count if bound in mine else 0
            buckets.append((bound if bound == INF else str(float(bound)), running))
        total = mine[TOTAL].total if TOTAL in mine else 0.0
        histograms.append(Histogram(name, text, buckets, total))
    breaches = dict.fromkeys(CLOCKS, 0)
    breaches.update({r.label: r.count for r in rows if r.metric == BREACHES})
    return histograms, breaches
