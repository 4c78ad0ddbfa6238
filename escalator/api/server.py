"""The ASGI application: API, console and, unless told otherwise, the worker in a thread."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from escalator import __version__
from escalator.api import health, incidents, problems
from escalator.app import Services
from escalator.web import routes as web


def create_app(svc: Services, *, run_worker: bool | None = None) -> FastAPI:
    with_worker = svc.settings.run_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if with_worker:
            worker = svc.worker()
            thread = threading.Thread(
                target=worker.run,
                args=(stop, svc.settings.worker_poll_seconds),
                name="escalator-worker",
                daemon=True,
            )
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)

    app = FastAPI(
        title="Escalator",
        version=__version__,
        description="Runs a support team's escalation process: "
        "ALERT → TRIAGE → ESCALATE → REMEDIATE → COMMUNICATE → POST MORTEM.",
        lifespan=lifespan,
    )
    app.state.services = svc
    problems.install(app)
    app.include_router(health.router)
    app.include_router(incidents.router)
    app.include_router(web.router)
    static = resources.files("escalator.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
