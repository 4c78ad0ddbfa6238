"""The ``escalator`` command. It calls the same use cases as the API.

A command that creates a secret prints it alone as the last line of stdout; explanations go to
stderr, and so do errors, with a non-zero exit code.
"""

from __future__ import annotations

import getpass
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from escalator.api.admin import MessageOut
from escalator.api.schemas import EventOut, IncidentOut
from escalator.api.server import create_app
from escalator.app import Services, build
from escalator.config.process_loader import ProcessFileError, load_process
from escalator.config.settings import Settings
from escalator.domain.lifecycle import IllegalTransition
from escalator.domain.permissions import Forbidden
from escalator.process import alert, incident_actions, integrations, messages, queries, tokens
from escalator.process.context import Ctx
from escalator.process.errors import InvalidInput, NotFound
from escalator.store import migrate as migrations

app = typer.Typer(help="Escalator: run your support escalation process.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for people.", no_args_is_help=True)
incidents_app = typer.Typer(help="Look at and act on incidents.", no_args_is_help=True)
integration_app = typer.Typer(
    help="Sources allowed to post alarms and reports.", no_args_is_help=True
)
messages_app = typer.Typer(
    help="What Escalator sent, is sending, or gave up on.", no_args_is_help=True
)
app.add_typer(token_app, name="token")
app.add_typer(incidents_app, name="incidents")
app.add_typer(integration_app, name="integration")
app.add_typer(messages_app, name="messages")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

AsPerson = Annotated[
    str,
    typer.Option("--as", envvar="ESCALATOR_AS", help="The person (from the process file) acting."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def services(*, migrate: bool | None = False) -> Services:
    """Wire everything up. ``migrate``: True always, None as ESCALATOR_AUTO_MIGRATE says,
    False never (and then refuse to run on a schema that is not current)."""
    try:
        svc = build(Settings())
    except ProcessFileError as exc:
        fail(str(exc), 2)
    if migrate is None:
        migrate = svc.settings.auto_migrate
    if migrate:
        migrations.upgrade(svc.db)
    elif not migrations.is_at_head(svc.db):
        fail("the database schema is not current: run `escalator migrate` first", 2)
    return svc


@contextmanager
def acting(svc: Services, person: str) -> Iterator[Ctx]:
    """A unit of work as ``person``; use-case errors become clear exits."""
    if svc.process.person(person) is None:
        fail(f"--as {person!r} is not a person in the process file", 2)
    try:
        with svc.unit_of_work(person) as ctx:
            yield ctx
    except (NotFound, InvalidInput, IllegalTransition, Forbidden) as exc:
        fail(str(exc))


@app.command()
def check(
    file: Annotated[
        Path | None, typer.Argument(help="Process file (default: the configured one)")
    ] = None,
) -> None:
    """Validate a process file; print every problem with its line and the fix."""
    path = file or Settings().process_file
    try:
        process = load_process(path)
    except ProcessFileError as exc:
        fail(str(exc), 1)
    spec = process.spec
    out.print(
        f"[green]ok[/]: {path or 'the default process'} — {spec.name}: "
        f"{len(spec.people)} people, {len(spec.roles)} roles, {len(spec.rotations)} rotations",
        highlight=False,
    )


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    svc = services(migrate=True)
    out.print(f"database at revision {migrations.current_revision(svc.db)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [ESCALATOR_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [ESCALATOR_PORT]")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Server processes [ESCALATOR_SERVER_PROCESSES]", min=1)
    ] = None,
) -> None:
    """Serve the API, the console and (unless ESCALATOR_RUN_WORKER=false) the worker."""
    svc = services(migrate=None)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    bind_host = host or svc.settings.host
    bind_port = port or svc.settings.port
    processes = workers or svc.settings.server_processes
    err.print(f"Escalator on http://{bind_host}:{bind_port}  (API docs at /docs)", highlight=False)
    if processes > 1:  # each process builds its own app from the environment
        svc.db.dispose()
        uvicorn.run(
            "escalator.api.asgi:app",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=processes,
            log_level="info",
        )
    else:
        uvicorn.run(create_app(svc), host=bind_host, port=bind_port, log_level="info")


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Do all that is due now, then exit.")
    ] = False,
) -> None:
    """Fire due timers and deliver queued messages (run as many as you like on PostgreSQL)."""
    svc = services()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    w = svc.worker()
    if once:
        done = w.run_once()
        err.print(f"worker {w.worker_id}: {done} timers and messages handled")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    w.run(stop, svc.settings.worker_poll_seconds)


@token_app.command("create")
def token_create(
    person: Annotated[str, typer.Option(help="Whose token it is (a person id)")],
    name: Annotated[str, typer.Option(help="A label, e.g. 'laptop'")] = "",
) -> None:
    """Create an API token; it is printed once, as the last line of stdout."""
    svc = services()
    try:
        with svc.unit_of_work(f"cli:{getpass.getuser()}") as ctx:
            new = tokens.create(ctx, person=person, name=name)
    except InvalidInput as exc:
        fail(str(exc), 2)
    err.print(f"Token {new.id} for {person}. It is shown once; keep it secret.")
    print(new.token)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never the tokens themselves)."""
    svc = services()
    table = Table("id", "person", "name", "starts with", "created", "revoked")
    with svc.db.read() as session:
        for t in tokens.list_tokens(session):
            table.add_row(
                str(t.id),
                t.person,
                t.name,
                t.prefix + "…",
                str(t.created_at),
                str(t.revoked_at or ""),
            )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id."""
    svc = services()
    try:
        with svc.unit_of_work(f"cli:{getpass.getuser()}") as ctx:
            tokens.revoke(ctx, token_id)
    except NotFound as exc:
        fail(str(exc))
    err.print(f"token {token_id} revoked")


@incidents_app.command("list")
def incidents_list(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, resolved, closed")] = None,
    severity: Annotated[str | None, typer.Option(help="SEV1 … SEV4")] = None,
    stage: Annotated[str | None, typer.Option(help="alert, triage, escalate, …")] = None,
    limit: int = 50,
    as_json: AsJson = False,
) -> None:
    """List incidents, newest first."""
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
        incident_actions.acknowledge(ctx, key, note=note)
    _print_incident(key, "acknowledged")


@incidents_app.command("resolve")
def incidents_resolve(key: str, person: AsPerson, note: str = "") -> None:
    """Resolve an incident."""
    with acting(services(), person) as ctx:
        incident_actions.resolve(ctx, key, note=note)
    _print_incident(key, "resolved")


@incidents_app.command("escalate")
def incidents_escalate(
    key: str,
    person: AsPerson,
    to: Annotated[str, typer.Option("--to", help="Role to escalate to, e.g. support_manager")],
    note: str = "",
) -> None:
    """Escalate an incident to a role."""
    with acting(services(), person) as ctx:
        incident_actions.escalate(ctx, key, to_role=to, note=note)
    _print_incident(key, f"escalated to {to}")


@app.command()
def report(
    title: Annotated[str, typer.Option(help="What is wrong, in one line")],
    person: AsPerson,
    channel: Annotated[str, typer.Option(help="phone, email, forum or manual")] = "phone",
    caller: Annotated[str | None, typer.Option(help="Who called or wrote")] = None,
    account: Annotated[str | None, typer.Option(help="The customer's account")] = None,
    contact: Annotated[str | None, typer.Option(help="Phone number or email")] = None,
    description: Annotated[str, typer.Option(help="Everything known")] = "",
) -> None:
    """Open an incident by hand (a phone call, say). Prints the new key as the last line."""
    if not title.strip():
        fail("--title must not be empty", 2)
    if channel not in alert.CUSTOMER_CHANNELS:
        fail(f"--channel must be one of {', '.join(alert.CUSTOMER_CHANNELS)}", 2)
    with acting(services(), person) as ctx:
        incident = alert.report(
            ctx,
            title=title.strip(),
            description=description,
            channel=channel,
            caller=caller,
            account=account,
            contact=contact,
        )
        key = incident.key
    err.print(f"Opened {key}; first tier has been notified.")
    print(key)


@integration_app.command("add")
def integration_add(
    kind: Annotated[
        str, typer.Argument(help="alertmanager, cloudwatch, grafana, generic or forum")
    ],
    name: Annotated[str, typer.Option(help="A name for the source, e.g. prod-alertmanager")],
) -> None:
    """Create an integration; its intake URL (with the secret) is the last line of stdout."""
    svc = services()
    try:
        with svc.unit_of_work(f"cli:{getpass.getuser()}") as ctx:
            row, secret = integrations.create(ctx, kind=kind, name=name)
    except InvalidInput as exc:
        fail(str(exc), 2)
    base = svc.settings.public_url or f"http://{svc.settings.host}:{svc.settings.port}"
    err.print(
        f"Integration {row.id} ({kind}) {name!r}. The secret is shown once. It may also be sent "
        "as 'Authorization: Bearer <secret>' or as the password of HTTP basic auth."
    )
    print(integrations.intake_url(base, kind, secret))


@integration_app.command("list")
def integration_list() -> None:
    """List integrations (never their secrets)."""
    svc = services()
    table = Table("id", "kind", "name", "starts with", "created", "by", "revoked")
    with svc.db.read() as session:
        for row in integrations.list_all(session):
            table.add_row(
                str(row.id),
                row.kind,
                row.name,
                row.prefix + "…",
                str(row.created_at)[:19],
                row.created_by,
                str(row.revoked_at or "")[:19],
            )
    out.print(table)


@integration_app.command("revoke")
def integration_revoke(integration_id: int) -> None:
    """Revoke an integration: its posts are refused from then on."""
    svc = services()
    try:
        with svc.unit_of_work(f"cli:{getpass.getuser()}") as ctx:
            integrations.revoke(ctx, integration_id)
    except NotFound as exc:
        fail(str(exc))
    err.print(f"integration {integration_id} revoked")


@messages_app.command("list")
def messages_list(
    state: Annotated[str | None, typer.Option(help="pending, sent or dead")] = None,
    channel: Annotated[str | None, typer.Option(help="console, slack, pagerduty, email…")] = None,
    limit: int = 50,
    as_json: AsJson = False,
) -> None:
    """Messages, newest first; `--state dead` shows what gave up."""
    svc = services()
    with svc.db.read() as session:
        rows = queries.messages(session, channel=channel, state=state, limit=limit)
        items = [MessageOut.of(r) for r in rows]
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    table = Table("id", "incident", "channel", "to", "subject", "state", "tries", "last error")
    for i in items:
        table.add_row(
            str(i.id),
            i.incident or "",
            i.channel,
            i.destination,
            i.subject,
            i.state,
            str(i.attempts),
            i.last_error or "",
        )
    out.print(table)


@messages_app.command("retry")
def messages_retry(message_id: int, person: AsPerson) -> None:
    """Send a dead-lettered message again."""
    with acting(services(), person) as ctx:
        messages.retry(ctx, message_id)
    err.print(f"message {message_id} queued again")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
