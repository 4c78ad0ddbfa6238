"""The console's Sessions page: where the signed-in person is signed in, and a way out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.process.core import console_sessions
from escalator.web.routes import CODES, FAILURES, Viewer, render, signed_out

router = APIRouter(include_in_schema=False)


def _show(
    request: Request, svc: Services, person: str, *, error: str = "", code: int = 200
) -> Response:
    limits = console_sessions.Limits.of(svc.settings)
    now = svc.clock.now()
    with svc.db.read() as session:
        rows = console_sessions.list_for(session, person)
    sessions = [
        {"row": row, "state": limits.state(row, now), "expires_at": limits.expires_at(row)}
        for row in rows
    ]
    return render(
        request,
        "sessions.html",
        person,
        code=code,
        sessions=sessions,
        current=request.state.console_session,
        limits=limits,
        error=error,
        canonical="/sessions",
    )


@router.get("/sessions")
def page(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    return _show(request, svc, person)


@router.post("/sessions/{session_id}/revoke")
def revoke(request: Request, svc: ServicesDep, person: Viewer, session_id: int) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            console_sessions.revoke(ctx, session_id, person=person)
    except FAILURES as exc:
        return _show(request, svc, person, error=str(exc), code=CODES[type(exc)])
    if session_id == request.state.console_session:
        return signed_out(RedirectResponse("/login", status_code=303), svc)
    return RedirectResponse("/sessions", status_code=303)
