"""The weekly report: whether the process itself is working. For the incidents opened in an
ISO week (on the review's calendar) and the week before: counts by severity, source, service
and root cause; time to acknowledge, to triage (and the share within the triage clock), the
Support Manager's decision time, time to resolve against the low- and high-severity clocks;
pages per person; customer-update punctuality and council decisions (through ``readings``);
the playbook entries published from post-mortems and how often they matched since; and the
two findings — alarms nobody acted on (noise) and customers who told us first (detection
gaps) — each with the action item one click makes of it.

The figures are computed by ``domain/weekly.py`` from the rows of the two weeks' incidents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from escalator.domain.durations import format_duration
from escalator.domain.postmortem import ALARM_THRESHOLD, DONE, NEW_METRIC, OPEN
from escalator.domain.weekly import Week, median, percentile, told_first, untouched
from escalator.process.core.context import Ctx
from escalator.process.postmortem import readings
from escalator.store.models import (
    ActionItem,
    Incident,
    Page,
    PlaybookDraft,
    PlaybookRun,
    Postmortem,
    TimelineEvent,
)

GAP_LOOKBACK = timedelta(days=30)  # alarm incidents opened this long before a report are read


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    rows: list[tuple[str, int, int]]  # label, this week, last week


@dataclass(frozen=True)
class Figures:
    count: int  # incidents measured
    median: float | None  # seconds
    p90: float | None
    within: int | None = None  # within the clock, of ``of``
    of: int | None = None

    @property
    def share(self) -> float | None:
        return self.within / self.of if self.of and self.within is not None else None


@dataclass(frozen=True)
class Timing:
    key: str
    title: str
    this: Figures
    last: Figures
    clock: timedelta | None = None

    @property
    def clock_text(self) -> str:
        return format_duration(self.clock) if self.clock else ""


@dataclass(frozen=True)
class Finding:
    key: str  # unique per finding: one action item answers it
    kind: str  # noise | gap
    subject: str  # the alarm, or the service
    incidents: list[str]
    attach_to: str  # the incident the action item goes on
    item_kind: str
    item_title: str
    item_details: dict[str, str]


@dataclass(frozen=True)
class EntryUse:
    entry_id: str
    title: str
    published_at: datetime
    source: str  # the incident it was written after
    matched_this_week: int
    matched_since: int


@dataclass(frozen=True)
class WeeklyReport:
    week: Week
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    incidents: tuple[int, int]
    breakdowns: list[Breakdown]
    timings: list[Timing]
    pages: Breakdown
    customer_updates: tuple[
        readings.Punctuality | readings.NotAvailable, readings.Punctuality | readings.NotAvailable
    ]
    council: Breakdown | readings.NotAvailable
    noise: list[Finding]
    gaps: list[Finding]
    entries: list[EntryUse]
    action_items: dict[str, int] = field(default_factory=dict)


Measure = Callable[["_Fact"], float | None]
Judge = Callable[["_Fact"], bool | None]


@dataclass
class _Fact:
    """One incident as the report reads it."""

    incident: Incident
    postmortem: Postmortem | None
    actors: list[str] = field(default_factory=list)  # until it first resolved
    acked: datetime | None = None
    triaged: datetime | None = None
    to_manager: datetime | None = None
    decided: datetime | None = None
    resolved: datetime | None = None
    level: str | None = None
    due: datetime | None = None

    @property
    def service(self) -> str:
        pm = self.postmortem.service if self.postmortem else ""
        return pm or str(self.incident.details.get("service", "")) or "unknown"

    @property
    def alert(self) -> str:
        labels = self.incident.details.get("labels") or {}
        return str(labels.get("alertname") or self.incident.title)


def _first(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current


def _facts(ctx: Ctx, start: datetime, end: datetime) -> list[_Fact]:
    rows = ctx.session.scalars(
        select(Incident)
        .where(Incident.created_at >= start, Incident.created_at < end)
        .order_by(Incident.id)
    ).all()
    facts = {i.id: _Fact(i, None) for i in rows}
    if not facts:
        return []
    ids = list(facts)
    for pm in ctx.session.scalars(select(Postmortem).where(Postmortem.incident_id.in_(ids))):
        facts[pm.incident_id].postmortem = pm
    events = ctx.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id.in_(ids))
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    for e in events:
        f = facts[e.incident_id]
        if f.resolved is None:  # who acted until it resolved (not its post-mortem)
            f.actors.append(e.actor)
        if e.kind == "acknowledge":
            f.acked = _first(f.acked, e.at)
        elif e.kind == "severity_assessed":
            f.triaged = _first(f.triaged, e.at)
        elif e.kind == "escalate" and e.field == "owner_role" and e.after == "support_manager":
            if f.decided is None:
                f.to_manager = e.at
        elif e.kind == "decision":
            f.decided = _first(f.decided, e.at)
        elif e.kind == "resolve":
            f.resolved = _first(f.resolved, e.at)
        elif e.kind == "resolution_clock" and f.level is None:
            f.level = str(e.data.get("level", "")) or None
            due = e.data.get("due_at")
            f.due = datetime.fromisoformat(due) if due else None
    return list(facts.values())


def _figures(
    facts: Iterable[_Fact],
    measure: Callable[[_Fact], float | None],
    within: Callable[[_Fact], bool | None] | None = None,
) -> Figures:
    values = [v for f in facts if (v := measure(f)) is not None]
    counted = [w for f in facts if (w := within(f)) is not None] if within else None
    return Figures(
        count=len(values),
        median=median(values),
        p90=percentile(values, 90),
        within=sum(counted) if counted is not None else None,
        of=len(counted) if counted is not None else None,
    )


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def _timings(ctx: Ctx, this: list[_Fact], last: list[_Fact], now: datetime) -> list[Timing]:
    clocks = ctx.process.spec.clocks

    def triaged_within(f: _Fact) -> bool | None:
        """Not counted: still on its clock, or resolved before it ran out untriaged."""
        deadline = f.incident.created_at + clocks.triage
        if f.triaged is not None:
            return f.triaged <= deadline
        if deadline > now or (f.resolved is not None and f.resolved <= deadline):
            return None
        return False

    def resolved_within(level: str) -> Callable[[_Fact], bool | None]:
        def judge(f: _Fact) -> bool | None:
            if f.level != level or f.due is None:
                return None
            if f.resolved is None:
                return False if f.due <= now else None
            return f.resolved <= f.due

        return judge

    def resolve_time(level: str) -> Callable[[_Fact], float | None]:
        return lambda f: _seconds(f.incident.created_at, f.resolved) if f.level == level else None

    def since_opened(at: Callable[[_Fact], datetime | None]) -> Callable[[_Fact], float | None]:
        return lambda f: _seconds(f.incident.created_at, at(f))

    def decision(f: _Fact) -> float | None:
        return _seconds(f.to_manager or f.incident.created_at, f.decided)

    acked, triaged = since_opened(lambda f: f.acked), since_opened(lambda f: f.triaged)
    specs: list[tuple[str, str, Measure, Judge | None, timedelta | None]] = [
        ("acknowledge", "Time to acknowledge", acked, None, None),
        ("triage", "Time to triage", triaged, triaged_within, clocks.triage),
        ("decision", "Support Manager's decision time", decision, None, None),
        ("resolve", "Time to resolve", since_opened(lambda f: f.resolved), None, None),
        (
            "resolve_low",
            "Time to resolve, low severity",
            resolve_time("low"),
            resolved_within("low"),
            clocks.low_severity_resolution,
        ),
        (
            "resolve_high",
            "Time to resolve, high severity",
            resolve_time("high"),
            resolved_within("high"),
            clocks.high_severity_resolution,
        ),
    ]
    return [
        Timing(key, title, _figures(this, measure, judge), _figures(last, measure, judge), clock)
        for key, title, measure, judge, clock in specs
    ]


def _breakdown(key: str, title: str, this: Iterable[str], last: Iterable[str]) -> Breakdown:
    now, before = Counter(this), Counter(last)
    labels = sorted(set(now) | set(before), key=lambda x: (-now[x], -before[x], x))
    return Breakdown(key, title, [(label, now[label], before[label]) for label in labels])


def _breakdowns(ctx: Ctx, this: list[_Fact], last: list[_Fact]) -> list[Breakdown]:
    causes = ctx.process.spec.postmortem.root_causes

    def cause(f: _Fact) -> str:
        rc = f.postmortem.root_cause if f.postmortem else None
        return causes.get(rc, rc) if rc else "not recorded"

    parts: list[tuple[str, str, Callable[[_Fact], str]]] = [
        ("severity", "Incidents by severity", lambda f: f.incident.severity or "not triaged"),
        ("source", "Incidents by source", lambda f: f.incident.source),
        ("service", "Incidents by service", lambda f: f.service),
        ("root_cause", "Incidents by root cause", cause),
    ]
    return [_breakdown(k, t, map(pick, this), map(pick, last)) for k, t, pick in parts]


def _pages(
    ctx: Ctx, week: tuple[datetime, datetime], before: tuple[datetime, datetime]
) -> Breakdown:
    def count(start: datetime, end: datetime) -> Counter[str]:
        rows = ctx.session.execute(
            select(Page.person, func.count())
            .where(Page.paged_at >= start, Page.paged_at < end, Page.person.is_not(None))
            .group_by(Page.person)
        )
        return Counter({str(person): n for person, n in rows})

    now, last = count(*week), count(*before)
    return _breakdown("pages", "Pages per person", now.elements(), last.elements())


def _noise(ctx: Ctx, facts: list[_Fact], week: Week) -> list[Finding]:
    team = list(ctx.process.spec.people)
    quiet: dict[str, list[_Fact]] = {}
    for f in facts:
        if f.incident.source == "alarm" and f.resolved and untouched(f.actors, team):
            quiet.setdefault(f.alert, []).append(f)
    return [
        Finding(
            key=f"noise:{name}:{week}",
            kind="noise",
            subject=name,
            incidents=[f.incident.key for f in group],
            attach_to=group[-1].incident.key,
            item_kind=ALARM_THRESHOLD,
            item_title=f"Raise the {name} threshold or remove the alarm: it fired "
            f"{len(group)} time{'s' * (len(group) != 1)} in {week} and resolved with nobody acting",
            item_details={"alarm": name, "direction": "up"},
        )
        for name, group in sorted(quiet.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]


def _gaps(ctx: Ctx, facts: list[_Fact]) -> list[Finding]:
    window = ctx.process.spec.postmortem.detection_window
    found = []
    for f in facts:
        if f.incident.source != "customer":
            continue
        at = f.incident.created_at
        alarms = ctx.session.scalars(
            select(Incident).where(
                Incident.source == "alarm",
                Incident.created_at >= at - GAP_LOOKBACK,
                Incident.created_at <= at,
            )
        )
        spans = [
            (a.created_at, a.resolved_at)
            for a in alarms
            if str(a.details.get("service", "")) == f.service
        ]
        if f.service != "unknown" and not told_first(at, spans, window):
            continue
        found.append(
            Finding(
                key=f"gap:{f.incident.key}",
                kind="gap",
                subject=f.service,
                incidents=[f.incident.key],
                attach_to=f.incident.key,
                item_kind=NEW_METRIC,
                item_title=f"A metric and alarm that catch what the customer of "
                f"{f.incident.key} saw first ({f.service})",
                item_details={"service": f.service} if f.service != "unknown" else {},
            )
        )
    return found


def _entries(ctx: Ctx, start: datetime, end: datetime) -> list[EntryUse]:
    drafts = ctx.session.execute(
        select(PlaybookDraft, ActionItem.incident_id)
        .join(ActionItem, ActionItem.id == PlaybookDraft.action_item_id)
        .where(PlaybookDraft.published_at.is_not(None))
        .order_by(PlaybookDraft.published_at)
    ).all()
    uses = []
    for draft, incident_id in drafts:
        runs = (
            select(func.count())
            .select_from(PlaybookRun)
            .where(PlaybookRun.entry_id == draft.entry_id)
        )
        week = runs.join(Incident, Incident.id == PlaybookRun.incident_id).where(
            Incident.created_at >= start, Incident.created_at < end
        )
        uses.append(
            EntryUse(
                draft.entry_id,
                draft.title,
                draft.published_at,
                f"INC-{incident_id}",
                ctx.session.scalar(week) or 0,
                ctx.session.scalar(runs) or 0,
            )
        )
    return uses


def _items(ctx: Ctx, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
    def count(*where: Any) -> int:
        return ctx.session.scalar(select(func.count()).select_from(ActionItem).where(*where)) or 0

    return {
        "added": count(ActionItem.created_at >= start, ActionItem.created_at < end),
        "done": count(
            ActionItem.state == DONE, ActionItem.closed_at >= start, ActionItem.closed_at < end
        ),
        "open": count(ActionItem.state == OPEN),
        "overdue": count(ActionItem.state == OPEN, ActionItem.due_at < min(now, end)),
    }


def weekly(ctx: Ctx, week: Week) -> WeeklyReport:
    """The report of ``week`` (on the review's calendar) and the week before, as of now."""
    timezone = ctx.process.spec.postmortem.review.timezone
    start, end = week.bounds(timezone)
    before = week.previous.bounds(timezone)
    now = ctx.now
    this, last = _facts(ctx, start, end), _facts(ctx, *before)
    council = readings.council_decisions(ctx, start, end)
    council_before = readings.council_decisions(ctx, *before)
    return WeeklyReport(
        week=week,
        timezone=timezone,
        start=start,
        end=end,
        generated_at=now,
        incidents=(len(this), len(last)),
        breakdowns=_breakdowns(ctx, this, last),
        timings=_timings(ctx, this, last, now),
        pages=_pages(ctx, (start, end), before),
        customer_updates=(
            readings.customer_updates(ctx, start, end),
            readings.customer_updates(ctx, *before),
        ),
        council=(
            council
            if isinstance(council, readings.NotAvailable)
            else _breakdown(
                "council",
                "Council decisions by kind",
                Counter(council).elements(),
                Counter(council_before if isinstance(council_before, dict) else {}).elements(),
            )
        ),
        noise=_noise(ctx, this, week),
        gaps=_gaps(ctx, this),
        entries=_entries(ctx, start, end),
        action_items=_items(ctx, start, end, now),
    )
