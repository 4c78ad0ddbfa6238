"""``escalator triage KEY …``: the triage checklist from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from escalator.cli.common import AsJson, AsPerson, acting, err, fail, out, services
from escalator.domain.severity import Answers
from escalator.process.core.errors import NotFound
from escalator.process.core.records import load
from escalator.process.triage import assessment, playbooks, report
from escalator.process.triage import view as triage_view


def triage(
    key: str,
    person: AsPerson,
    who: Annotated[str | None, typer.Option(help="Report: who is affected")] = None,
    what: Annotated[str | None, typer.Option(help="Report: what happened")] = None,
    where: Annotated[str | None, typer.Option(help="Report: where")] = None,
    when: Annotated[str | None, typer.Option(help="Report: when")] = None,
    how: Annotated[str | None, typer.Option(help="Report: how")] = None,
    users: Annotated[int | None, typer.Option(help="1. How many users are affected")] = None,
    tier: Annotated[
        str | None, typer.Option(help="2. The affected account's tier (key, …)")
    ] = None,
    impact: Annotated[
        str | None, typer.Option(help="3. blocked, losing_money, degraded, nice_to_have")
    ] = None,
    business: Annotated[str, typer.Option(help="4. losing_money, losing_customer, none")] = "none",
    stakeholder: Annotated[str, typer.Option(help="5. Who was asked")] = "",
    priority: Annotated[
        str | None, typer.Option(help="5. … and the priority they gave (SEV1…)")
    ] = None,
    playbook: Annotated[
        str | None, typer.Option(help="Playbook outcome: resolved, failed, not_applicable")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Fill in the report, record the playbook outcome and assess severity, in that order;
    with no options, show the checklist."""
    svc = services()
    changes = {
        k: v
        for k, v in {"who": who, "what": what, "where": where, "when": when, "how": how}.items()
        if v is not None
    }
    if changes or playbook or users is not None:
        if users is not None and impact is None:
            fail(
                "--users needs --impact "
                "(and optionally --tier, --business, --stakeholder, --priority)",
                2,
            )
        with acting(svc, person) as ctx:
            if changes:
                report.update(ctx, key, changes)
            if playbook:
                playbooks.conclude(ctx, key, playbook)
            if users is not None and impact is not None:
                incident = load(ctx, key)
                answers = Answers(
                    users_affected=users,
                    account_tier=tier or incident.details.get("account_tier"),
                    user_impact=impact,
                    business_impact=business,
                    stakeholder=stakeholder,
                    stakeholder_priority=priority,  # type: ignore[arg-type]
                )
                _, verdict = assessment.evaluate(ctx, key, answers)
                err.print(f"{key}: {verdict.summary}", highlight=False)
    try:
        with svc.db.read() as session:
            view = triage_view.load(session, key)
            summary = _summary(view)
    except NotFound as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
        return
    out.print(f"[bold]{key}[/] {summary['title']}", highlight=False)
    out.print(
        f"triage due {summary['due_at']} · owner {summary['owner']} · "
        f"ticket {summary['ticket']} · severity {summary['severity'] or 'not assessed'}",
        highlight=False,
    )
    for field, value in summary["report"].items():
        out.print(f"  {field:>5}: {value}", highlight=False)
    for run in summary["playbooks"]:
        out.print(
            f"  playbook {run['entry']}: {len(run['done'])}/{len(run['steps'])} steps, "
            f"outcome {run['outcome'] or '—'}",
            highlight=False,
        )
    for item in summary["related"][:5]:
        out.print(
            f"  related {item['kind']} {item['ref']}: {item['title']} "
            f"({'; '.join(item['reasons'])})",
            highlight=False,
        )


def _summary(view: triage_view.TriageView) -> dict[str, object]:
    latest = view.assessments[-1] if view.assessments else None
    return {
        "key": view.incident.key,
        "title": view.incident.title,
        "owner": f"{view.incident.owner_person or '—'} ({view.incident.owner_role})",
        "due_at": view.due_at,
        "ticket": view.ticket.key if view.ticket else None,
        "severity": latest.summary if latest else None,
        "report": {f: getattr(view.report, f) for f in report.FIELDS} if view.report else {},
        "playbooks": [
            {
                "entry": p.entry_id,
                "steps": p.steps,
                "done": [t["step"] for t in p.ticks],
                "outcome": p.outcome,
            }
            for p in view.playbooks
        ],
        "related": [
            {"kind": r.kind, "ref": r.ref, "title": r.title, "reasons": list(r.reasons)}
            for r in view.related
        ],
    }
