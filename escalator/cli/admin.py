"""``escalator token|session|integration|messages …``: credentials and the outbox."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.table import Table

from escalator.api.admin import MessageOut
from escalator.api.sessions import SessionOut
from escalator.cli.common import AsJson, AsPerson, acting, err, fail, out, services
from escalator.process.core import console_sessions, integrations, messages, queries, tokens
from escalator.process.core.errors import InvalidInput, NotFound

token_app = typer.Typer(help="API tokens for people.", no_args_is_help=True)
session_app = typer.Typer(
    help="Console sessions: the browsers a person is signed in on.", no_args_is_help=True
)
integration_app = typer.Typer(
    help="Sources allowed to post alarms and reports.", no_args_is_help=True
)
messages_app = typer.Typer(
    help="What Escalator sent, is sending, or gave up on.", no_args_is_help=True
)


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


@session_app.command("list")
def session_list(person: AsPerson, as_json: AsJson = False) -> None:
    """Your console sessions, newest first (never their secrets)."""
    svc = services()
    if svc.process.person(person) is None:
        fail(f"--as {person!r} is not a person in the process file", 2)
    limits = console_sessions.Limits.of(svc.settings)
    now = svc.clock.now()
    with svc.db.read() as session:
        items = [SessionOut.of(r, limits, now) for r in console_sessions.list_for(session, person)]
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    table = Table("id", "browser", "signed in", "last used", "ends", "state")
    for i in items:
        ends = i.revoked_at if i.revoked_at else i.expires_at
        table.add_row(
            str(i.id),
            i.user_agent,
            str(i.created_at)[:19],
            str(i.last_seen_at)[:19],
            str(ends)[:19],
            i.state,
        )
    out.print(table)


@session_app.command("revoke")
def session_revoke(session_id: int, person: AsPerson) -> None:
    """Sign one of your browsers out."""
    with acting(services(), person) as ctx:
        console_sessions.revoke(ctx, session_id, person=person)
    err.print(f"console session {session_id} revoked")


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
    if not svc.settings.public_url:
        err.print(
            f"ESCALATOR_PUBLIC_URL is not set, so the URL below assumes {base} (this machine's "
            "ESCALATOR_HOST and ESCALATOR_PORT). Set ESCALATOR_PUBLIC_URL to the address your "
            "alert sources reach Escalator at, and use that instead."
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
