"""The ``escalator`` command. It calls the same use cases as the API.

A command that creates a secret prints it alone as the last line of stdout; explanations go to
stderr, and so do errors, with a non-zero exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from escalator.api.asgi import SUPERVISED
from escalator.api.server import create_app, start_background
from escalator.app import Services
from escalator.cli.admin import integration_app, messages_app, session_app, token_app
from escalator.cli.backup import backup, restore
from escalator.cli.common import acting, err, fail, out, services
from escalator.cli.communicate import update, updates_app
from escalator.cli.incidents import incidents_app
from escalator.cli.oncall import oncall_app
from escalator.cli.postmortem import action_app, postmortem_app, review_app, weekly
from escalator.cli.remediate import change_app, council_app
from escalator.cli.slack import slack_app
from escalator.cli.triage import triage
from escalator.config.process_loader import ProcessFileError, load_process
from escalator.config.settings import Settings
from escalator.engine.worker import WorkerStuck
from escalator.process.alert import opening
from escalator.store import migrate as migrations

app = typer.Typer(help="Escalator: run your support escalation process.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(session_app, name="session")
app.add_typer(incidents_app, name="incidents")
app.add_typer(oncall_app, name="oncall")
app.add_typer(integration_app, name="integration")
app.add_typer(messages_app, name="messages")
app.add_typer(updates_app, name="updates")
app.add_typer(postmortem_app, name="postmortem")
app.add_typer(action_app, name="action")
app.add_typer(review_app, name="review")
app.add_typer(council_app, name="council")
app.add_typer(change_app, name="change")
app.add_typer(slack_app, name="slack")
report_app = typer.Typer(
    help="Open an incident by hand (--title …), or `report weekly`: the weekly report."
)
app.add_typer(report_app, name="report")
report_app.command("weekly")(weekly)
app.command()(triage)
app.command()(update)
app.command()(backup)
app.command()(restore)


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
    _logging()
    bind_host = host or svc.settings.host
    bind_port = port or svc.settings.port
    processes = workers or svc.settings.server_processes
    err.print(f"Escalator on http://{bind_host}:{bind_port}  (API docs at /docs)", highlight=False)
    if processes > 1:
        _serve_processes(svc, bind_host, bind_port, processes)
    else:
        uvicorn.run(
            create_app(svc),
            host=bind_host,
            port=bind_port,
            log_level="info",
            access_log=svc.settings.access_log,
        )


def _serve_processes(svc: Services, host: str, port: int, processes: int) -> None:
    """``processes`` server processes share the port, each building its app from the
    environment, and none of them runs a worker, the SMTP listener or Socket Mode: those run
    once, here, in the process that supervises them (N SMTP listeners cannot share a port,
    and on SQLite two workers would take turns at the one write lock against each other and
    against intake; on PostgreSQL more workers are started with ``escalator worker``). The
    worker learns of new alerts by NOTIFY on PostgreSQL, and by looking every
    ``ESCALATOR_WORKER_POLL_SECONDS`` on SQLite."""
    svc.db.dispose()
    os.environ[SUPERVISED] = "1"  # read by the server processes' app factory
    running = start_background(svc, with_worker=svc.settings.run_worker)
    try:
        uvicorn.run(
            "escalator.api.asgi:app",
            factory=True,
            host=host,
            port=port,
            workers=processes,
            log_level="info",
            access_log=svc.settings.access_log,
        )
    finally:
        running.close()
        os.environ.pop(SUPERVISED, None)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # one line per outgoing HTTP request drowns what matters; failures are logged by the worker
    for name in ("httpx", "httpx2", "httpcore", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Do all that is due now, then exit.")
    ] = False,
) -> None:
    """Fire due timers and deliver queued messages (run as many as you like on PostgreSQL)."""
    svc = services()
    _logging()
    w = svc.worker()
    if once:
        done = w.run_once()
        err.print(f"worker {w.worker_id}: {done} timers and messages handled")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: (stop.set(), svc.db.work.set()))
    try:
        w.run(
            stop,
            svc.settings.worker_poll_seconds,
            give_up_after=timedelta(seconds=svc.settings.worker_give_up_seconds),
        )
    except WorkerStuck as exc:  # for the supervisor (systemd, Kubernetes) to restart us
        fail(str(exc), 3)


@report_app.callback(invoke_without_command=True)
def report(
    context: typer.Context,
    title: Annotated[str | None, typer.Option(help="What is wrong, in one line")] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--as", envvar="ESCALATOR_AS", help="The person (from the process file) acting."
        ),
    ] = None,
    channel: Annotated[str, typer.Option(help="phone, email, forum or manual")] = "phone",
    caller: Annotated[str | None, typer.Option(help="Who called or wrote")] = None,
    account: Annotated[str | None, typer.Option(help="The customer's account")] = None,
    contact: Annotated[str | None, typer.Option(help="Phone number or email")] = None,
    description: Annotated[str, typer.Option(help="Everything known")] = "",
) -> None:
    """Open an incident by hand (a phone call, say). Prints the new key as the last line."""
    if context.invoked_subcommand is not None:
        return
    if title is None or person is None:
        fail("give --title and --as: escalator report --title T --as P (or: report weekly)", 2)
    if not title.strip():
        fail("--title must not be empty", 2)
    if channel not in opening.CUSTOMER_CHANNELS:
        fail(f"--channel must be one of {', '.join(opening.CUSTOMER_CHANNELS)}", 2)
    with acting(services(), person) as ctx:
        incident = opening.report(
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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
