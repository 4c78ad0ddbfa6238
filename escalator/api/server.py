"""The ASGI application: API, console and, unless told otherwise, the worker in a thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from escalator import __version__
from escalator.api import (
    admin,
    communicate,
    health,
    incidents,
    logs,
    oncall,
    postmortem,
    problems,
    remediate,
    sessions,
    slack,
    triage,
)
from escalator.api.flood import FloodGate
from escalator.api.intake import Intake
from escalator.api.intake import router as intake_router
from escalator.api.intake_path import IntakePath
from escalator.api.security_headers import SecurityHeaders
from escalator.app import Services
from escalator.engine.worker import Worker
from escalator.integrations.inbound.email import InboundEmail
from escalator.integrations.inbound.smtp_listener import SmtpListener
from escalator.process.alert import customer
from escalator.slack import socket as socket_mode
from escalator.web import communicate as web_communicate
from escalator.web import oncall as web_oncall
from escalator.web import postmortem as web_postmortem
from escalator.web import remediate as web_remediate
from escalator.web import routes as web
from escalator.web import sessions as web_sessions
from escalator.web import triage as web_triage
from escalator.web import weekly as web_weekly

log = logging.getLogger("escalator.server")


def email_receiver(svc: Services) -> SmtpListener:
    def deliver(mail: InboundEmail) -> None:
        with svc.unit_of_work(f"email:{mail.sender}"[:200]) as ctx:
            customer.receive_email(
                ctx, mail, max_attachment_bytes=svc.settings.attachment_max_bytes
            )

    port = svc.settings.inbound_smtp_port
    assert port is not None
    return SmtpListener(
        deliver,
        host=svc.settings.inbound_smtp_host,
        port=port,
        max_bytes=svc.settings.attachment_max_bytes * 2,
    )


def supervise(worker: Worker, stop: threading.Event, poll_seconds: float) -> None:
    """The worker inside ``serve``: its loop guards every step already; should the loop
    itself ever end by an error, it starts again (its heartbeat shows the gap)."""
    while not stop.is_set():
        try:
            worker.run(stop, poll_seconds)
        except Exception:
            log.exception("the worker loop ended by an error; starting it again")
            stop.wait(5)


def start_worker(svc: Services, stop: threading.Event) -> threading.Thread:
    """The worker in a supervised thread of this process, until ``stop`` is set."""
    thread = threading.Thread(
        target=supervise,
        args=(svc.worker(), stop, svc.settings.worker_poll_seconds),
        name="escalator-worker",
        daemon=True,
    )
    thread.start()
    return thread


@dataclass
class Background:
    """What ``serve`` runs beside answering requests: the worker, the inbound SMTP listener
    and Slack's Socket Mode (each when configured), until :meth:`close`."""

    svc: Services
    stop: threading.Event
    worker: threading.Thread | None
    smtp: SmtpListener | None
    slack: threading.Thread | None

    def close(self) -> None:
        self.stop.set()
        self.svc.db.work.set()  # an idle worker wakes to stop
        if self.worker is not None:
            self.worker.join(timeout=10)
        if self.slack is not None:
            self.slack.join(timeout=10)
        if self.smtp is not None:
            self.smtp.stop()


def start_background(svc: Services, *, with_worker: bool) -> Background:
    stop = threading.Event()
    smtp = email_receiver(svc) if svc.settings.inbound_smtp_port else None
    if smtp is not None:
        smtp.start()
    slack = None
    if svc.settings.slack_app_token is not None:  # Slack's requests over Socket Mode
        slack = socket_mode.start(svc, stop)
    worker = start_worker(svc, stop) if with_worker else None
    return Background(svc, stop, worker, smtp, slack)


def create_app(
    svc: Services, *, run_worker: bool | None = None, background: bool = True
) -> FastAPI:
    """The API and the console. ``background``: also run the worker (unless ``run_worker``
    or ESCALATOR_RUN_WORKER says not to), the SMTP listener and Socket Mode while serving;
    ``serve --workers N`` runs those once, in the process that supervises the N servers."""
    with_worker = svc.settings.run_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.install()
        app.state.intake = Intake(svc)
        app.state.flood = FloodGate(svc.process.spec.intake.rate_limit, svc.clock)
        running = start_background(svc, with_worker=with_worker) if background else None
        try:
            yield
        finally:
            if running is not None:
                running.close()
            app.state.intake.close()

    app = FastAPI(
        title="Escalator",
        version=__version__,
        description="Runs a support team's escalation process: "
        "ALERT → TRIAGE → ESCALATE → REMEDIATE → COMMUNICATE → POST MORTEM.",
        lifespan=lifespan,
        docs_url=None,  # served below from the package's own Swagger UI, not a CDN
    )
    app.state.services = svc
    app.add_middleware(IntakePath)  # inside the security headers (added next: outside it)
    app.add_middleware(
        SecurityHeaders,
        docs_paths=(DOCS, app.redoc_url, app.swagger_ui_oauth2_redirect_url),
    )
    problems.install(app)
    app.add_exception_handler(web.NotSignedIn, web.to_login)
    app.include_router(intake_router)  # first: the hot path matches without scanning the rest
    app.include_router(health.router)
    app.include_router(incidents.router)
    app.include_router(triage.router)
    app.include_router(oncall.router)
    app.include_router(communicate.router)
    app.include_router(admin.router)
    app.include_router(sessions.router)
    app.include_router(postmortem.router)
    app.include_router(remediate.router)
    app.include_router(slack.router)
    app.include_router(web_triage.router)
    app.include_router(web_oncall.router)
    app.include_router(web_communicate.router)
    app.include_router(web_sessions.router)
    app.include_router(web_postmortem.router)  # before the console's /incidents/{key}/{action}
    app.include_router(web_remediate.router)  # so too
    app.include_router(web_weekly.router)
    app.include_router(web.router)
    problems.declare_bad_bodies(app)
    _docs(app)
    static = resources.files("escalator.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


DOCS = "/docs"
DOCS_ASSETS = "/static/swagger-ui"  # Swagger UI vendored from swagger-ui-dist, with its licence


def _docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI served from the package (``web/static/swagger-ui``), so it works
    with no internet."""

    @app.get(DOCS, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
