"""The weekly report as Markdown (sent with the review, and ``--format md``), CSV (one row
per figure) and JSON. The HTML page with its charts is the console's (``web/weekly.py``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from escalator.domain.durations import format_duration
from escalator.process.postmortem.readings import NotAvailable, Punctuality
from escalator.process.postmortem.report import Breakdown, Figures, WeeklyReport


def seconds_text(value: float | None) -> str:
    """A time as people read it: 42s, 12m, 3h5m, 1d2h (rounded to the minute past 1m)."""
    if value is None:
        return "—"
    if value < 60:
        return f"{round(value)}s" if value >= 1 else "0s"
    minutes = round(value / 60)
    return format_duration(timedelta(minutes=minutes))


def share_text(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def signed(value: float) -> str:
    return f"+{value:g}" if value > 0 else f"{value:g}"


def delta_seconds(this: float | None, last: float | None) -> str:
    if this is None or last is None:
        return "—"
    change = this - last
    if abs(change) < 1:
        return "±0"
    return ("+" if change > 0 else "-") + seconds_text(abs(change))


def delta_share(this: float | None, last: float | None) -> str:
    if this is None or last is None:
        return "—"
    points = round((this - last) * 100)
    return f"{'+' if points > 0 else '-' if points < 0 else '±'}{abs(points)} pts"


def punctuality_text(value: Punctuality | NotAvailable) -> str:
    if isinstance(value, NotAvailable):
        return str(value)
    share = value.on_time / value.due if value.due else None
    return f"{value.on_time} of {value.due} on time ({share_text(share)})"


def figures_text(f: Figures, clock: str) -> str:
    text = f"median {seconds_text(f.median)}, p90 {seconds_text(f.p90)} (n={f.count})"
    if clock and f.of is not None:
        text += f"; {f.within} of {f.of} within {clock} ({share_text(f.share)})"
    return text


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    clean = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in clean]


def _breakdown_md(b: Breakdown, week: str, previous: str) -> list[str]:
    rows = [[label, str(n), str(m), signed(n - m)] for label, n, m in b.rows]
    body = _table(["", week, previous, "change"], rows) if rows else ["None."]
    return [f"### {b.title}", "", *body, ""]


def markdown(report: WeeklyReport) -> str:
    week, previous = str(report.week), str(report.week.previous)
    this, last = report.incidents
    out = [
        f"# Weekly report {week}",
        "",
        f"Incidents opened {report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} ({report.timezone}): "
        f"{this} ({signed(this - last)} on {previous}). As of "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC.",
        "",
        "## Times",
        "",
    ]
    rows = [
        [
            t.title + (f" (clock {t.clock_text})" if t.clock else ""),
            figures_text(t.this, t.clock_text),
            figures_text(t.last, t.clock_text),
            delta_seconds(t.this.median, t.last.median)
            + (f"; {delta_share(t.this.share, t.last.share)}" if t.clock else ""),
        ]
        for t in report.timings
    ]
    out += [*_table(["", week, previous, "median change"], rows), ""]
    cu_this, cu_last = report.customer_updates
    out += [
        f"Customer-update punctuality: {punctuality_text(cu_this)} "
        f"({previous}: {punctuality_text(cu_last)})",
        "",
        "## Incidents",
        "",
    ]
    for b in report.breakdowns:
        out += _breakdown_md(b, week, previous)
    out += ["## People and decisions", "", *_breakdown_md(report.pages, week, previous)]
    if isinstance(report.council, NotAvailable):
        out += ["### Council decisions by kind", "", f"{report.council}.", ""]
    else:
        out += _breakdown_md(report.council, week, previous)
    out += ["## Findings", "", "### Noise: alarms resolved with nobody acting", ""]
    out += [f"- {f.subject}: {', '.join(f.incidents)} — {f.item_title}" for f in report.noise] or [
        "None."
    ]
    out += ["", "### Detection gaps: a customer told us first", ""]
    out += [f"- {f.incidents[0]} ({f.subject}) — {f.item_title}" for f in report.gaps] or ["None."]
    out += ["", "## Playbook entries from post-mortems", ""]
    out += [
        f"- {e.entry_id} ({e.title}), after {e.source}: matched {e.matched_this_week} "
        f"time{'s' * (e.matched_this_week != 1)} this week, {e.matched_since} since published"
        for e in report.entries
    ] or ["None published yet."]
    items = report.action_items
    out += [
        "",
        "## Action items",
        "",
        f"{items.get('added', 0)} added and {items.get('done', 0)} done this week; "
        f"{items.get('open', 0)} open, {items.get('overdue', 0)} overdue.",
        "",
    ]
    return "\n".join(out)


def _rows(report: WeeklyReport) -> Iterator[tuple[str, str, str, Any, Any]]:
    """(section, figure, label, this week, last week)"""
    this, last = report.incidents
    yield "incidents", "opened", "", this, last
    for t in report.timings:
        yield "times", t.key, "median_seconds", t.this.median, t.last.median
        yield "times", t.key, "p90_seconds", t.this.p90, t.last.p90
        yield "times", t.key, "count", t.this.count, t.last.count
        if t.clock:
            yield "times", t.key, "within_clock", t.this.within, t.last.within
            yield "times", t.key, "clock_share", t.this.share, t.last.share
    for b in [*report.breakdowns, report.pages]:
        for label, n, m in b.rows:
            yield "counts", b.key, label, n, m
    cu_this, cu_last = report.customer_updates
    if isinstance(cu_this, NotAvailable):
        yield "customer_updates", "punctuality", "", str(cu_this), str(cu_last)
    else:
        assert isinstance(cu_last, Punctuality | NotAvailable)
        last_due = cu_last.due if isinstance(cu_last, Punctuality) else None
        last_on_time = cu_last.on_time if isinstance(cu_last, Punctuality) else None
        yield "customer_updates", "punctuality", "due", cu_this.due, last_due
        yield "customer_updates", "punctuality", "on_time", cu_this.on_time, last_on_time
    if isinstance(report.council, NotAvailable):
        yield "counts", "council", "", str(report.council), str(report.council)
    else:
        for label, n, m in report.council.rows:
            yield "counts", "council", label, n, m
    for f in [*report.noise, *report.gaps]:
        yield "findings", f.kind, f.subject, " ".join(f.incidents), ""
    for e in report.entries:
        yield "playbook_entries", e.entry_id, "matched", e.matched_this_week, e.matched_since
    for name, value in report.action_items.items():
        yield "action_items", name, "", value, ""


def csv_text(report: WeeklyReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "figure", "label", str(report.week), str(report.week.previous)])
    for row in _rows(report):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _na(value: Any) -> Any:
    return str(value) if isinstance(value, NotAvailable) else value


def as_dict(report: WeeklyReport) -> dict[str, Any]:
    def figures(f: Figures) -> dict[str, Any]:
        return {
            "count": f.count,
            "median_seconds": f.median,
            "p90_seconds": f.p90,
            "within_clock": f.within,
            "measured_against_clock": f.of,
            "clock_share": f.share,
        }

    def counts(b: Breakdown) -> dict[str, Any]:
        return {
            "title": b.title,
            "rows": [{"label": x, "this_week": n, "last_week": m} for x, n, m in b.rows],
        }

    def punctual(p: Punctuality | NotAvailable) -> Any:
        return _na(p) if isinstance(p, NotAvailable) else p.__dict__

    return {
        "week": str(report.week),
        "previous_week": str(report.week.previous),
        "timezone": report.timezone,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "generated_at": report.generated_at.isoformat(),
        "incidents": {"this_week": report.incidents[0], "last_week": report.incidents[1]},
        "times": {
            t.key: {
                "title": t.title,
                "clock": t.clock_text or None,
                "this_week": figures(t.this),
                "last_week": figures(t.last),
            }
            for t in report.timings
        },
        "counts": {b.key: counts(b) for b in [*report.breakdowns, report.pages]},
        "customer_update_punctuality": {
            "this_week": punctual(report.customer_updates[0]),
            "last_week": punctual(report.customer_updates[1]),
        },
        "council_decisions": _na(report.council)
        if isinstance(report.council, NotAvailable)
        else counts(report.council),
        "findings": [
            {
                "key": f.key,
                "kind": f.kind,
                "subject": f.subject,
                "incidents": f.incidents,
                "action_item": {
                    "incident": f.attach_to,
                    "kind": f.item_kind,
                    "title": f.item_title,
                    "details": f.item_details,
                    "finding": f.key,
                },
            }
            for f in [*report.noise, *report.gaps]
        ],
        "playbook_entries": [
            {
                "id": e.entry_id,
                "title": e.title,
                "published_at": e.published_at.isoformat(),
                "written_after": e.source,
                "matched_this_week": e.matched_this_week,
                "matched_since_published": e.matched_since,
            }
            for e in report.entries
        ],
        "action_items": report.action_items,
    }


def json_text(report: WeeklyReport) -> str:
    return json.dumps(as_dict(report), indent=2)
