"""``escalator council …`` and ``escalator change add``: the Engineering Council's queue,
bringing an incident to it, its decisions; telling of a change."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from escalator.cli.common import AsJson, AsPerson, acting, out, services
from escalator.domain.durations import format_duration
from escalator.process.core import queries
from escalator.process.remediate import changes, council, decisions, view

council_app = typer.Typer(
    help="The Engineering Council: its queue, bringing incidents to it, its decisions.",
    no_args_is_help=True,
)
change_app = typer.Typer(help='Change events: what changed, for "changed before".')

Note = Annotated[str, typer.Option(help="A note for the timeline")]


@council_app.command("queue")
def council_queue(as_json: AsJson = False) -> None:
    """What waits for the council's decision, oldest due first."""
    svc = services()
    now = svc.clock.now()
    with svc.db.read() as session:
        rows = [
            {
                "incident": w.incident.key,
                "title": w.incident.title,
                "severity": w.incident.severity,
                "brought_by": w.case.brought_by,
                "due_at": w.case.due_at.isoformat(),
                "seconds_left": int(w.left(now).total_seconds()),
            }
            for w in council.queue(session)
        ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print("Nothing waits for the council.")
        return
    table = Table("incident", "title", "severity", "brought by", "decide")
    for r in rows:
        left = int(r["seconds_left"])  # type: ignore[call-overload]
        when = (
            f"in {format_duration(timedelta(seconds=left))}"
            if left > 0
            else f"OVERDUE {format_duration(timedelta(seconds=max(1, -left)))}"
        )
        table.add_row(
            str(r["incident"]),
            str(r["title"]),
            str(r["severity"] or "—"),
            str(r["brought_by"]),
            when,
        )
    out.print(table)


@council_app.command("bring")
def council_bring(key: str, person: AsPerson, note: Note = "") -> None:
    """Bring an incident to the council: every member is told, the council clock starts."""
    with acting(services(), person) as ctx:
        council.bring(ctx, key, note=note)
    out.print(f"{key} brought to the Engineering Council", highlight=False)


@council_app.command("decide")
def council_decide(
    key: str,
    kind: Annotated[
        str,
        typer.Argument(
            help="gather_info, allocate_short_term, allocate_long_term, rollback_flag or "
            "rollback_release"
        ),
    ],
    person: AsPerson,
    reasons: Annotated[str, typer.Option(help="Why the council decides this")],
    supersedes: Annotated[int | None, typer.Option(help="The decision this replaces")] = None,
    ask: Annotated[
        str | None, typer.Option(help="gather_info: second_tier, customer or a person")
    ] = None,
    question: Annotated[str | None, typer.Option(help="gather_info: the question")] = None,
    due: Annotated[str | None, typer.Option(help="gather_info: answer within, e.g. 4h")] = None,
    engineer: Annotated[
        list[str] | None, typer.Option(help="allocate_*: an engineer (repeat it)")
    ] = None,
    sprint: Annotated[str | None, typer.Option(help="allocate_long_term: the sprint")] = None,
    sprint_ends: Annotated[
        str | None, typer.Option(help="allocate_long_term, built-in tracker: 2026-12-11")
    ] = None,
    flag: Annotated[str | None, typer.Option(help="rollback_flag: the flag")] = None,
    project: Annotated[str | None, typer.Option(help="rollback_flag: Unleash project")] = None,
    env: Annotated[str | None, typer.Option(help="rollback_flag: the environment")] = None,
    release: Annotated[str | None, typer.Option(help="rollback_release: the release")] = None,
    service: Annotated[str | None, typer.Option(help="rollback_release: the service")] = None,
) -> None:
    """Record a council decision (members only)."""
    params = {
        "ask": ask,
        "question": question,
        "due": due,
        "engineers": engineer,
        "sprint": sprint,
        "sprint_ends": sprint_ends,
        "flag": flag,
        "project": project,
        "environment": env,
        "release": release,
        "service": service,
    }
    svc = services()
    with acting(svc, person) as ctx:
        row = decisions.decide(
            ctx,
            key,
            kind,
            reasons=reasons,
            params={k: v for k, v in params.items() if v is not None},
            supersedes=supersedes,
            remote=svc.remote,
        )
        text, state, missing = decisions.describe(row), row.state, row.approvals_needed
    extra = f"; {missing} approval(s) needed" if state == decisions.AWAITING else ""
    out.print(f"{key} decision {text}: {state}{extra}", highlight=False)


@council_app.command("approve")
def council_approve(key: str, decision: int, person: AsPerson, note: Note = "") -> None:
    """Approve a decision (another member than who made it)."""
    with acting(services(), person) as ctx:
        row = decisions.approve(ctx, key, decision, note=note)
        state = row.state
    out.print(f"{key} decision #{decision} approved: {state}", highlight=False)


@council_app.command("confirm")
def council_confirm(key: str, decision: int, person: AsPerson, note: Note = "") -> None:
    """Confirm a rollback was done by hand."""
    with acting(services(), person) as ctx:
        decisions.confirm(ctx, key, decision, note=note)
    out.print(f"{key} decision #{decision}: rollback confirmed done", highlight=False)


@council_app.command("answer")
def council_answer(
    key: str,
    decision: int,
    person: AsPerson,
    text: Annotated[str, typer.Option(help="The answer")],
) -> None:
    """Answer the council's request for information."""
    with acting(services(), person) as ctx:
        decisions.answer(ctx, key, decision, text=text)
    out.print(f"{key} decision #{decision}: answered; the council is told", highlight=False)


@council_app.command("show")
def council_show(key: str, as_json: AsJson = False) -> None:
    """An incident before the council: its decisions and what changed before it."""
    svc = services()
    with svc.db.read() as session:
        incident = queries.get_incident(session, key)
        panel = view.panel(session, svc.process, incident)
        rows = [
            {
                "id": v.row.id,
                "decision": v.text,
                "state": v.state,
                "by": v.row.decided_by,
                "missing_approvals": v.missing,
                "by_hand": v.manual,
            }
            for v in panel.decisions
        ]
        before = [
            {
                "id": b.change.id,
                "summary": b.change.summary,
                "service": b.change.service,
                "before": format_duration(b.before) if b.before.total_seconds() >= 1 else "0s",
            }
            for b in panel.changes
        ]
    if as_json:
        out.print_json(json.dumps({"decisions": rows, "changed_before": before}))
        return
    for r in rows:
        out.print(f"{r['decision']} — {r['state']} ({r['by']})", highlight=False)
        if r["by_hand"]:
            out.print(f"  by hand: {r['by_hand']}", highlight=False)
    out.print("Changed before this opened:" if before else "No changes before this opened.")
    for b in before:
        out.print(
            f"  {b['before']} before: {b['summary']} [{b['service'] or 'any'}]", highlight=False
        )


@change_app.command("add")
def change_add(
    person: AsPerson,
    summary: Annotated[str, typer.Option(help="What changed")],
    service: Annotated[str | None, typer.Option(help="The service it changed")] = None,
    link: Annotated[str | None, typer.Option(help="Where to read more (http/https)")] = None,
    at: Annotated[str | None, typer.Option(help="When (ISO 8601); default now")] = None,
) -> None:
    """Tell of a change by hand."""
    with acting(services(), person) as ctx:
        row = changes.add(ctx, summary=summary, service=service, link=link, at=at)
        ident = row.id
    out.print(f"change {ident} recorded", highlight=False)
