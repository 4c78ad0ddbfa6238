"""``escalator update KEY …`` and ``escalator updates …``: keeping customers updated."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from escalator.api.communicate import ContactOut, EntryOut, due_out
from escalator.cli.common import AsJson, AsPerson, acting, fail, out, services
from escalator.domain.durations import format_duration
from escalator.process.communicate import closing, contacts, updates, view
from escalator.process.core import queries
from escalator.process.core.errors import NotFound

updates_app = typer.Typer(
    help="Customers owed updates: the queue, an incident's ledger, contacts.",
    no_args_is_help=True,
)


def update(
    key: str,
    person: AsPerson,
    text: Annotated[str, typer.Option(help="What the customer reads")],
    next_update: Annotated[
        str | None,
        typer.Option(
            "--next", help="When the next update comes: 30m, 1h, 14:30 or 2026-11-02T14:30Z"
        ),
    ] = None,
    contact: Annotated[
        list[str] | None,
        typer.Option(help="A contact's id, address or name (repeat it); default: all"),
    ] = None,
) -> None:
    """Send an update to an incident's customers (a call is logged as made)."""
    with acting(services(), person) as ctx:
        rows = updates.send(ctx, key, text=text, next_update=next_update, to=contact)
        sent = [(r.id, r.state) for r in rows]
    for entry, state in sent:
        word = "logged as a call made" if state == "sent" else "queued; sent by the worker"
        out.print(f"{key} update {entry}: {word}", highlight=False)


def _left(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds <= 0:
        return f"OVERDUE {format_duration(timedelta(seconds=max(1, -seconds)))}"
    return f"in {format_duration(timedelta(seconds=seconds))}"


@updates_app.command("due")
def updates_due(as_json: AsJson = False) -> None:
    """Incidents owing a customer an update, soonest first (and unread replies)."""
    svc = services()
    now = svc.clock.now()
    with svc.db.read() as session:
        items = [due_out(item, now) for item in view.due(session, now)]
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    table = Table("incident", "severity", "due", "left", "owed", "unread", title="Updates due")
    for i in items:
        table.add_row(
            i.incident,
            i.severity or "—",
            f"{i.due_at:%Y-%m-%d %H:%M} UTC" if i.due_at else "—",
            "resolved: final update" if i.resolution else _left(i.seconds_left),
            ", ".join(i.owed),
            str(i.unread or ""),
        )
    out.print(table)


@updates_app.command("show")
def updates_show(key: str, as_json: AsJson = False) -> None:
    """An incident's contacts and their ledger."""
    svc = services()
    try:
        with svc.db.read() as session:
            incident = queries.get_incident(session, key)
            incident_views = view.contacts(session, incident, svc.clock.now())
            items = [
                ContactOut.of(
                    v.contact,
                    overdue=v.overdue,
                    unread=v.unread,
                    ledger=[EntryOut.of(e.row, e.state, e.error) for e in v.entries],
                )
                for v in incident_views
            ]
    except NotFound as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    for c in items:
        due = f"due {c.due_at:%Y-%m-%d %H:%M} UTC" if c.due_at else "nothing owed"
        out.print(
            f"[bold]{c.id}[/] {c.name or c.address} by {c.channel} ({c.address}) — {due}"
            + (" [red]OVERDUE[/]" if c.overdue else ""),
            highlight=False,
        )
        table = Table("when (UTC)", "", "by", "state", "text")
        for e in c.ledger:
            arrow = "→" if e.direction == "out" else "←"
            state = e.state + (f": {e.error}" if e.error else "")
            table.add_row(f"{e.created_at:%d %b %H:%M}", arrow, e.by, state, e.body[:200])
        out.print(table)


@updates_app.command("contact")
def updates_contact(
    key: str,
    person: AsPerson,
    name: Annotated[str, typer.Option(help="Their name")] = "",
    email: Annotated[str | None, typer.Option(help="Their email address")] = None,
    phone: Annotated[str | None, typer.Option(help="Their phone number")] = None,
) -> None:
    """Add someone to keep updated about an incident."""
    with acting(services(), person) as ctx:
        row = contacts.add(ctx, key, name=name, email=email, phone=phone)
        said = f"contact {row.id}: {row.address} by {row.channel}"
    out.print(f"{key} {said}", highlight=False)


@updates_app.command("read")
def updates_read(key: str, person: AsPerson) -> None:
    """Mark the customers' replies read."""
    with acting(services(), person) as ctx:
        count = contacts.mark_read(ctx, key)
    out.print(f"{key}: {count} replies marked read", highlight=False)


@updates_app.command("waive")
def updates_waive(
    key: str,
    person: AsPerson,
    reason: Annotated[str, typer.Option(help="Why the customers need not be told")],
) -> None:
    """A manager lets a resolved incident close without its final update, saying why."""
    with acting(services(), person) as ctx:
        closing.waive(ctx, key, reason=reason)
    out.print(f"{key}: final update waived", highlight=False)
