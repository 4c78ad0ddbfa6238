"""``escalator incidents …``: look at incidents and act on them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from escalator.api.oncall import PageOut
from escalator.api.schemas import EventOut, IncidentOut
from escalator.cli.common import AsJson, AsPerson, acting, fail, out, services
from escalator.domain.lifecycle import Stage, Status
from escalator.domain.severity import LEVELS
from escalator.process.core import incidents, queries
from escalator.process.core.errors import NotFound
from escalator.process.escalate import escalation, pages, paging
from escalator.process.postmortem import retrospective

incidents_app = typer.Typer(help="Look at and act on incidents.", no_args_is_help=True)


@incidents_app.command("list")
def incidents_list(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, resolved, closed")] = None,
    severity: Annotated[str | None, typer.Option(help="SEV1 … SEV4")] = None,
    stage: Annotated[str | None, typer.Option(help="alert, triage, escalate, …")] = None,
    limit: int = 50,
    as_json: AsJson = False,
) -> None:
    """List incidents, newest first."""
    for option, value, known in (
        ("--status", status, [s.value for s in Status]),
        ("--stage", stage, [s.value for s in Stage]),
        ("--severity", severity, list(LEVELS)),
    ):
        if value is not None and value not in known:
            fail(f"{option}: no such value {value!r}; use one of {', '.join(known)}", 2)
    svc = services()
    with svc.db.read() as session:
        page = queries.list_incidents(
            session, status=status, severity=severity, stage=stage, limit=limit
        )
        items = [IncidentOut.of(i) for i in page.items]
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    table = Table(
        "key",
        "title",
        "status",
        "stage",
        "severity",
        "owner",
        "opened",
        title=f"{page.total} incidents",
    )
    for i in items:
        table.add_row(
            i.key,
            i.title,
            i.status,
            i.stage,
            i.severity or "—",
            f"{i.owner_person or '—'} ({i.owner_role})",
            i.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@incidents_app.command("show")
def incidents_show(key: str, as_json: AsJson = False) -> None:
    """One incident and its timeline."""
    svc = services()
    try:
        with svc.db.read() as session:
            incident = queries.get_incident(session, key)
            item = IncidentOut.of(incident)
            events = [EventOut.of(e) for e in queries.timeline(session, incident)]
    except NotFound as exc:
        fail(str(exc))
    if as_json:
        body = item.model_dump(mode="json")
        body["timeline"] = [e.model_dump(mode="json", by_alias=True) for e in events]
        print(json.dumps(body, indent=2))
        return
    out.print(f"[bold]{item.key}[/] {item.title}", highlight=False)
    out.print(
        f"status {item.status} · stage {item.stage} · severity {item.severity or '—'} · "
        f"owner {item.owner_person or '—'} ({item.owner_role})",
        highlight=False,
    )
    table = Table("when (UTC)", "who", "what", "change", "note", title="timeline")
    for e in events:
        change = f"{e.field}: {e.before or '—'} → {e.after or '—'}" if e.field else ""
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.kind, change, e.note)
    out.print(table)


def _print_incident(incident_key: str, what: str) -> None:
    out.print(f"{incident_key} {what}", highlight=False)


@incidents_app.command("ack")
def incidents_ack(key: str, person: AsPerson, note: str = "") -> None:
    """Acknowledge an incident."""
    with acting(services(), person) as ctx:
        paging.acknowledge(ctx, key, note=note)
    _print_incident(key, "acknowledged")


@incidents_app.command("resolve")
def incidents_resolve(key: str, person: AsPerson, note: str = "") -> None:
    """Resolve an incident."""
    with acting(services(), person) as ctx:
        incidents.resolve(ctx, key, note=note)
    _print_incident(key, "resolved")


@incidents_app.command("close")
def incidents_close(
    key: str,
    person: AsPerson,
    note: str = "",
    waive: Annotated[
        str | None, typer.Option(help="Close without a reviewed post-mortem, for this reason")
    ] = None,
) -> None:
    """Close a resolved incident (managers): its post-mortem reviewed, or waived with a reason."""
    with acting(services(), person) as ctx:
        if waive is not None:
            retrospective.waive(ctx, key, waive)
        incidents.close(ctx, key, note=note)
    _print_incident(key, "closed")


@incidents_app.command("escalate")
def incidents_escalate(
    key: str,
    person: AsPerson,
    to: Annotated[str, typer.Option("--to", help="Role to escalate to, e.g. support_manager")],
    note: str = "",
) -> None:
    """Escalate an incident to a role."""
    with acting(services(), person) as ctx:
        incident = escalation.escalate(ctx, key, to_role=to, note=note)
        who = incident.owner_person or "nobody on duty"
    _print_incident(key, f"escalated to {to} ({who})")


@incidents_app.command("decide")
def incidents_decide(
    key: str,
    decision: Annotated[
        str,
        typer.Argument(help="apply_playbook | no_playbook | engineering_manager | on_call"),
    ],
    person: AsPerson,
    note: str = "",
) -> None:
    """The Support Manager's next course of action for an escalated incident."""
    with acting(services(), person) as ctx:
        incident = escalation.decide(ctx, key, decision, note=note)
        owner = f"{incident.owner_role} ({incident.owner_person or 'nobody on duty'})"
    _print_incident(
        key, f"decided: {escalation.DECISIONS.get(decision, decision)}; now with {owner}"
    )


@incidents_app.command("bring-in")
def incidents_bring_in(key: str, person: AsPerson, note: str = "") -> None:
    """The one-hour rule by hand: page the SME (then the Engineering Manager)."""
    with acting(services(), person) as ctx:
        incident = paging.bring_in(ctx, key, note=note)
        who = incident.owner_person or "nobody"
    _print_incident(key, f"bringing in {who}")


@incidents_app.command("pages")
def incidents_pages(key: str, as_json: AsJson = False) -> None:
    """Who was paged for an incident, and what came of each page."""
    svc = services()
    try:
        with svc.db.read() as session:
            views = pages.incident_pages(session, queries.get_incident(session, key))
    except NotFound as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps([PageOut.of(v.page).model_dump(mode="json") for v in views], indent=2))
        return
    table = Table("step", "paged", "at (UTC)", "state", "delivery", "why")
    for v in views:
        p = v.page
        late = f" (late {p.late_ms // 1000}s)" if v.late and p.late_ms else ""
        delivery = " ".join(
            f"{c}:{'FAILED' if s == 'dead' else s}" for c, s in v.deliveries.items()
        )
        table.add_row(
            f"{p.chain} {p.step + 1} {p.target}",
            p.person or "nobody",
            f"{p.paged_at:%d %b %H:%M:%S}{late}",
            p.state + (f" by {p.acked_by}" if p.acked_by else ""),
            delivery,
            p.reason,
        )
    out.print(table)
