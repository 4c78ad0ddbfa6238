"""The console's REMEDIATE pages: the council's queue, an incident before the council (what
changed before it, its decisions, a form per kind of decision), and the decision history as
a panel on the incident's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.domain.council import KINDS
from escalator.process.core import queries
from escalator.process.core.context import Ctx
from escalator.process.remediate import council, decisions, view
from escalator.web.routes import CODES, FAILURES, Viewer, render, run_form

router = APIRouter(include_in_schema=False)


@router.get("/council")
def queue(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    now = svc.clock.now()
    with svc.db.read() as session:
        items = council.queue(session)
    return render(request, "council.html", person, items=items, now=now)


def _show(
    request: Request,
    svc: Services,
    person: str,
    key: str,
    *,
    template: str = "council_incident.html",
    error: str = "",
    code: int = 200,
    kind: str = "",
) -> Response:
    now = svc.clock.now()
    try:
        with svc.db.read() as session:
            incident = queries.get_incident(session, key)
            panel = view.panel(session, svc.process, incident)
    except FAILURES as exc:
        return render(request, "error.html", person, code=CODES[type(exc)], error=str(exc))
    with svc.looking(person) as ctx:
        members = council.members(ctx)
    live = [d for d in panel.decisions if d.row.state in decisions.LIVE]
    return render(
        request,
        template,
        person,
        code=code,
        canonical=f"/incidents/{incident.key}/council",
        panel=panel,
        now=now,
        error=error,
        kinds=KINDS,
        kind=kind,
        member=person in members,
        members=members,
        live=live[-1] if live else None,
        people=sorted(svc.process.spec.people),
        unleash=svc.channels.unleash,
        webhook=svc.channels.rollback_webhook,
    )


@router.get("/incidents/{key}/council")
def incident_council(
    request: Request, svc: ServicesDep, person: Viewer, key: str, part: str = "", kind: str = ""
) -> Response:
    template = "_council.html" if part == "panel" else "council_incident.html"
    return _show(request, svc, person, key, template=template, kind=kind)


def _do(
    request: Request, svc: Services, person: str, key: str, step: Callable[[Ctx], object]
) -> Response:
    return run_form(
        svc,
        person,
        step,
        done=f"/incidents/{key}/council",
        refused=lambda error, code: _show(request, svc, person, key, error=error, code=code),
    )


@router.post("/incidents/{key}/council/bring")
def bring(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    note: Annotated[str, Form()] = "",
) -> Response:
    return _do(request, svc, person, key, lambda ctx: council.bring(ctx, key, note=note))


@router.post("/incidents/{key}/council/decide")
def decide(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    kind: Annotated[str, Form()] = "",
    reasons: Annotated[str, Form()] = "",
    supersedes: Annotated[str, Form()] = "",
    ask: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    engineers: Annotated[list[str] | None, Form()] = None,
    sprint: Annotated[str, Form()] = "",
    sprint_ends: Annotated[str, Form()] = "",
    flag: Annotated[str, Form()] = "",
    project: Annotated[str, Form()] = "",
    environment: Annotated[str, Form()] = "",
    release: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
) -> Response:
    fields = {
        "ask": ask,
        "question": question,
        "due": due,
        "engineers": engineers or [],
        "sprint": sprint,
        "sprint_ends": sprint_ends,
        "flag": flag,
        "project": project,
        "environment": environment,
        "release": release,
        "service": service,
    }
    params = {k: v for k, v in fields.items() if v}
    replaced = int(supersedes) if supersedes.isdigit() and len(supersedes) < 10 else None

    def step(ctx: Ctx) -> None:
        decisions.decide(
            ctx, key, kind, reasons=reasons, params=params, supersedes=replaced, remote=svc.remote
        )

    return _do(request, svc, person, key, step)


@router.post("/incidents/{key}/council/{decision_id}/{action}")
def act(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    decision_id: int,
    action: str,
    note: Annotated[str, Form()] = "",
) -> Response:
    steps: dict[str, Callable[[Ctx], object]] = {
        "approve": lambda ctx: decisions.approve(ctx, key, decision_id, note=note),
        "confirm": lambda ctx: decisions.confirm(ctx, key, decision_id, note=note),
        "answer": lambda ctx: decisions.answer(ctx, key, decision_id, text=note),
    }
    if action not in steps or not 0 < decision_id < 2**31:
        return render(request, "error.html", person, code=404, error="no such action")
    return _do(request, svc, person, key, steps[action])
