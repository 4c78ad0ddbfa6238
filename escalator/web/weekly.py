"""The weekly report in the console, and as one self-contained HTML file.

Charts are drawn here, on the server, as SVG with matplotlib (text drawn as paths, so they
look the same on a laptop with no fonts and no network), and embedded as ``data:`` images
beside a table of the same figures: the page and the file load nothing from anywhere else.
"""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Annotated, Any

import matplotlib
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from matplotlib.figure import Figure

from escalator.api.deps import ServicesDep
from escalator.api.downloads import content_disposition
from escalator.app import Services
from escalator.domain.weekly import Week, WeekError, parse_week, week_at
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.postmortem import actions, formats
from escalator.process.postmortem import report as weekly_report
from escalator.process.postmortem.readings import NotAvailable
from escalator.process.postmortem.report import Breakdown, WeeklyReport
from escalator.web.routes import CODES, FAILURES, Viewer, render, templates

router = APIRouter(include_in_schema=False)
# files that travel alone carry their own inline styles, so they live apart from the
# console's templates (which never do); they share the report's body with the console page
_files = templates.env.overlay(
    loader=ChoiceLoader(
        [FileSystemLoader(str(resources.files("escalator.web") / "files")), templates.env.loader]
    )
)

# the standalone file's own policy: its inline styles and data: images, nothing else
STANDALONE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
THIS, LAST = "#2b59c3", "#b8c2d6"
FINDING_DUE = timedelta(days=7)  # a one-click action item is due a week later
_drawing = threading.Lock()  # matplotlib's settings are global: one chart at a time
_STYLE = {
    "svg.hashsalt": "escalator",  # the same figures give the same file
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    image: str  # a data: URI of the SVG
    alt: str
    head: list[str]
    rows: list[list[str]]


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode()).decode()


def _bars(
    labels: list[str], this: list[float], last: list[float], names: tuple[str, str], unit: str
) -> str:
    with _drawing, matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(5.2, 0.5 + 0.38 * max(len(labels), 2)))
        axes = figure.add_subplot()
        ys = list(range(len(labels)))
        axes.barh([y + 0.2 for y in ys], last, height=0.38, color=LAST, label=names[1])
        axes.barh([y - 0.2 for y in ys], this, height=0.38, color=THIS, label=names[0])
        axes.set_xlim(left=0, right=max([*this, *last, 0]) * 1.08 or 1)
        axes.set_yticks(ys, labels=labels)
        axes.invert_yaxis()
        axes.set_xlabel(unit)
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, frameon=False)
        return _svg(figure)


def _count_chart(b: Breakdown, week: str, previous: str) -> Chart:
    labels = [label for label, _, _ in b.rows] or ["none"]
    this = [n for _, n, _ in b.rows] or [0]
    last = [m for _, _, m in b.rows] or [0]
    rows = [[label, str(n), str(m), formats.signed(n - m)] for label, n, m in b.rows]
    return Chart(
        b.key,
        b.title,
        _bars(labels, this, last, (week, previous), "count"),
        f"{b.title}: " + (", ".join(f"{r[0]} {r[1]}" for r in rows) or "none"),
        ["", week, previous, "change"],
        rows,
    )


def _minutes(value: float | None) -> float:
    return round(value / 60, 1) if value is not None else 0.0


def charts(report: WeeklyReport) -> list[Chart]:
    week, previous = str(report.week), str(report.week.previous)
    times = [
        [
            t.title,
            formats.seconds_text(t.this.median),
            formats.seconds_text(t.last.median),
            formats.delta_seconds(t.this.median, t.last.median),
            formats.seconds_text(t.this.p90),
            str(t.this.count),
        ]
        for t in report.timings
    ]
    clocked = [t for t in report.timings if t.clock]
    shares = [
        [
            f"{t.title} (clock {t.clock_text})",
            f"{t.this.within}/{t.this.of}" if t.this.of else "—",
            formats.share_text(t.this.share),
            formats.share_text(t.last.share),
            formats.delta_share(t.this.share, t.last.share),
        ]
        for t in clocked
    ]
    made = [
        Chart(
            "times",
            "Median times",
            _bars(
                [t.title for t in report.timings],
                [_minutes(t.this.median) for t in report.timings],
                [_minutes(t.last.median) for t in report.timings],
                (week, previous),
                "minutes",
            ),
            "Median times: " + ", ".join(f"{r[0]} {r[1]}" for r in times),
            ["", f"median {week}", f"median {previous}", "change", f"p90 {week}", "n"],
            times,
        ),
        Chart(
            "clocks",
            "Within the clock",
            _bars(
                [t.title for t in clocked],
                [round((t.this.share or 0) * 100) for t in clocked],
                [round((t.last.share or 0) * 100) for t in clocked],
                (week, previous),
                "% within the clock",
            ),
            "Within the clock: " + ", ".join(f"{r[0]} {r[2]}" for r in shares),
            ["", f"within {week}", week, previous, "change"],
            shares,
        ),
    ]
    made += [_count_chart(b, week, previous) for b in [*report.breakdowns, report.pages]]
    if not isinstance(report.council, NotAvailable):
        made.append(_count_chart(report.council, week, previous))
    return made


def _context(report: WeeklyReport) -> dict[str, Any]:
    this, last = report.incidents
    cu_this, cu_last = report.customer_updates
    return {
        "report": report,
        "charts": charts(report),
        "opened": (this, last, formats.signed(this - last)),
        "punctuality": (formats.punctuality_text(cu_this), formats.punctuality_text(cu_last)),
        "council_na": str(report.council) if isinstance(report.council, NotAvailable) else "",
        "week": str(report.week),
        "previous": str(report.week.previous),
    }


def standalone(report: WeeklyReport) -> str:
    """The report as one HTML file that opens anywhere without a network."""
    page = _files.get_template("weekly.html")
    return page.render(policy=STANDALONE_POLICY, console=False, **_context(report))


def _week(ctx: Ctx, text: str) -> Week:
    try:
        return parse_week(text) if text else week_at(ctx.now, _timezone(ctx))
    except WeekError as exc:
        raise InvalidInput("week", str(exc)) from exc


def _timezone(ctx: Ctx) -> str:
    return ctx.process.spec.postmortem.review.timezone


def _page(
    request: Request, svc: Services, person: str, week: str, *, error: str = "", code: int = 200
) -> Response:
    try:
        with svc.looking(person) as ctx:
            found = weekly_report.weekly(ctx, _week(ctx, week))
    except InvalidInput as exc:
        return render(request, "error.html", person, code=422, error=str(exc))
    return render(
        request, "weekly.html", person, code=code, error=error, console=True, **_context(found)
    )


@router.get("/reports/weekly")
def page(request: Request, svc: ServicesDep, person: Viewer, week: str = "") -> Response:
    return _page(request, svc, person, week)


@router.get("/reports/weekly/download")
def download(
    request: Request, svc: ServicesDep, person: Viewer, week: str = "", format: str = "html"
) -> Response:
    try:
        with svc.looking(person) as ctx:
            found = weekly_report.weekly(ctx, _week(ctx, week))
    except InvalidInput as exc:
        return render(request, "error.html", person, code=422, error=str(exc))
    kinds = {
        "html": (standalone, "text/html; charset=utf-8"),
        "md": (formats.markdown, "text/markdown; charset=utf-8"),
        "csv": (formats.csv_text, "text/csv; charset=utf-8"),
        "json": (formats.json_text, "application/json"),
    }
    if format not in kinds:
        return render(request, "error.html", person, code=404, error=f"no format {format!r}")
    make, media = kinds[format]
    name = f"escalator-weekly-{found.week}.{format}"
    return Response(
        make(found),
        media_type=media,
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Security-Policy": STANDALONE_POLICY,
        },
    )


@router.post("/reports/weekly/findings")
def act_on_finding(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    week: Annotated[str, Form()] = "",
    finding: Annotated[str, Form()] = "",
) -> Response:
    """One click: the finding's action item, owned by whoever clicked, due in a week."""
    try:
        with svc.unit_of_work(person) as ctx:
            found = weekly_report.weekly(ctx, _week(ctx, week))
            match = next((f for f in [*found.noise, *found.gaps] if f.key == finding), None)
            if match is None:
                raise NotFound(f"no finding {finding!r} in {found.week}")
            item = actions.add(
                ctx,
                match.attach_to,
                kind=match.item_kind,
                title=match.item_title,
                owner=person,
                due_at=ctx.now + FINDING_DUE,
                details=match.item_details,
                finding=match.key,
            )
            key = f"INC-{item.incident_id}"
    except FAILURES as exc:
        return _page(request, svc, person, week, error=str(exc), code=CODES[type(exc)])
    return RedirectResponse(f"/incidents/{key}/postmortem", status_code=303)
