"""``escalator slack doctor`` (is the Slack app set up?) and ``escalator slack socket`` (Slack's
requests over Socket Mode, for teams with no public URL)."""

from __future__ import annotations

import signal
import threading

import typer

from escalator.cli.common import err, fail, out, services
from escalator.config.process_loader import ProcessFileError, load_process
from escalator.config.settings import Settings
from escalator.slack import doctor as doctor_checks
from escalator.slack import socket as socket_mode

slack_app = typer.Typer(
    help="Slack: check the app's set-up; serve it over Socket Mode.", no_args_is_help=True
)


@slack_app.command("doctor")
def doctor() -> None:
    """Check the token, scopes, signing secret or app token, channels and people's Slack ids.

    Exits 1 if anything needed is missing, saying what to do about it."""
    settings = Settings()
    try:
        process = load_process(settings.process_file)
    except ProcessFileError as exc:
        fail(str(exc), 2)
    findings = doctor_checks.check(settings, process)
    for f in findings:
        mark = "[green]ok[/]  " if f.ok else ("[yellow]warn[/]" if f.warning else "[red]FAIL[/]")
        out.print(f"{mark} {f.what}" + (f"\n     → {f.fix}" if f.fix else ""), highlight=False)
    failed = [f for f in findings if not f.ok and not f.warning]
    if failed:
        fail(f"{len(failed)} thing(s) to fix before Slack works", 1)
    out.print("Slack is ready.")


@slack_app.command("socket")
def socket() -> None:
    """Serve Slack's buttons, modals and /escalator over Socket Mode (no public URL needed).

    Needs ESCALATOR_SLACK_APP_TOKEN; run it beside `escalator serve` or `escalator worker`."""
    svc = services(migrate=None)
    if svc.settings.slack_app_token is None:
        fail("set ESCALATOR_SLACK_APP_TOKEN (an xapp-… app-level token) for Socket Mode", 2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err.print("Serving Slack over Socket Mode; Ctrl-C stops.")
    socket_mode.serve(svc, stop)
