"""The console's triage page: the seed's checklist, one step after another, clock on top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from escalator.api import downloads
from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.domain.severity import BUSINESS_IMPACTS, LEVELS, USER_IMPACTS, Answers
from escalator.process.core import evidence
from escalator.process.core.context import Ctx
from escalator.process.core.records import load
from escalator.process.triage import assessment, playbooks, related, report, tickets
from escalator.process.triage import view as triage_view
from escalator.web import desk
from escalator.web.routes import CODES, FAILURES, Viewer, render, run_form

router = APIRouter(include_in_schema=False)


def _show(
    request: Request, svc: Services, person: str, key: str, *, error: str = "", code: int = 200
) -> Response:
    with svc.db.read() as session:
        view = triage_view.load(session, key)
    now = svc.clock.now()
    left = desk.countdown(int((view.due_at - now).total_seconds())) if view.due_at else ""
    return render(
        request,
        "triage.html",
        person,
        code=code,
        view=view,
        left=left,
        canonical=f"/incidents/{view.incident.key}/triage",
        error=error,
        fields=report.FIELDS,
        user_impacts=USER_IMPACTS,
        business_impacts=BUSINESS_IMPACTS,
        levels=LEVELS,
        threshold=svc.process.spec.escalation.threshold,
        tiers=sorted({a.tier for a in svc.process.accounts} | {"standard", "key"}),
    )


def _do(
    request: Request, svc: Services, person: str, key: str, step: Callable[[Ctx], object]
) -> Response:
    """Run one checklist step as ``person``; back to the checklist, or show what went wrong."""
    return run_form(
        svc,
        person,
        step,
        done=f"/incidents/{key}/triage",
        refused=lambda error, code: _show(request, svc, person, key, error=error, code=code),
    )


@router.get("/incidents/{key}/triage")
def page(request: Request, svc: ServicesDep, person: Viewer, key: str) -> Response:
    try:
        return _show(request, svc, person, key)
    except FAILURES as exc:
        return render(request, "error.html", person, code=CODES[type(exc)], error=str(exc))


@router.get("/incidents/{key}/evidence/files/{file_id}")
def evidence_file(
    request: Request, svc: ServicesDep, person: Viewer, key: str, file_id: int
) -> Response:
    """A kept file, always downloaded as bytes: whatever type its sender claimed, it is never
    rendered or run as a page or script of the console's origin."""
    try:
        with svc.db.read() as session:
            row = evidence.stored_file(session, key, file_id)
    except FAILURES as exc:
        return render(request, "error.html", person, code=CODES[type(exc)], error=str(exc))
    return downloads.download(row, media_type="application/octet-stream")


@router.post("/incidents/{key}/triage/report")
def save_report(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    who: Annotated[str, Form()] = "",
    what: Annotated[str, Form()] = "",
    where: Annotated[str, Form()] = "",
    when: Annotated[str, Form()] = "",
    how: Annotated[str, Form()] = "",
) -> Response:
    def step(ctx: Ctx) -> None:
        report.update(
            ctx, key, {"who": who, "what": what, "where": where, "when": when, "how": how}
        )

    return _do(request, svc, person, key, step)


@router.post("/incidents/{key}/triage/link")
def add_link(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    url: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "other",
) -> Response:
    return _do(
        request,
        svc,
        person,
        key,
        lambda ctx: report.add_link(ctx, key, url=url.strip(), title=title.strip(), kind=kind),
    )


@router.post("/incidents/{key}/triage/file")
def add_file(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    limit = svc.settings.attachment_max_bytes

    def step(ctx: Ctx) -> None:
        report.upload(
            ctx,
            key,
            filename=file.filename or "upload",
            content_type=file.content_type or "application/octet-stream",
            data=file.file.read(limit + 1),
            max_bytes=limit,
        )

    return _do(request, svc, person, key, step)


@router.post("/incidents/{key}/triage/related")
def link_related(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    kind: Annotated[str, Form()] = "",
    ref: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
) -> Response:
    return _do(
        request,
        svc,
        person,
        key,
        lambda ctx: related.link(ctx, key, kind=kind, ref=ref, title=title),
    )


@router.post("/incidents/{key}/triage/step")
def tick(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    entry: Annotated[str, Form()] = "",
    step: Annotated[int, Form()] = -1,
) -> Response:
    return _do(request, svc, person, key, lambda ctx: playbooks.tick(ctx, key, entry, step))


@router.post("/incidents/{key}/triage/outcome")
def outcome(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    return _do(
        request, svc, person, key, lambda ctx: playbooks.conclude(ctx, key, outcome, note=note)
    )


@router.post("/incidents/{key}/triage/assess")
def assess(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    users_affected: Annotated[str, Form()] = "",
    account_tier: Annotated[str, Form()] = "",
    user_impact: Annotated[str, Form()] = "",
    business_impact: Annotated[str, Form()] = "",
    stakeholder: Annotated[str, Form()] = "",
    stakeholder_priority: Annotated[str, Form()] = "",
) -> Response:
    if (
        not users_affected.isdigit()
        or user_impact not in USER_IMPACTS
        or business_impact not in BUSINESS_IMPACTS
    ):
        return _show(
            request,
            svc,
            person,
            key,
            code=422,
            error="Answer the questions: how many users (a whole number), the impact to "
            "the user and the impact to the company.",
        )

    def step(ctx: Ctx) -> None:
        incident = load(ctx, key)
        answers = Answers(
            users_affected=int(users_affected),
            account_tier=account_tier or incident.details.get("account_tier"),
            user_impact=user_impact,
            business_impact=business_impact,
            stakeholder=stakeholder,
            stakeholder_priority=stakeholder_priority if stakeholder_priority in LEVELS else None,  # type: ignore[arg-type]
        )
        assessment.evaluate(ctx, key, answers)

    return _do(request, svc, person, key, step)


@router.get("/tickets")
def ticket_list(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    """The built-in MCT tracker's tickets."""
    with svc.db.read() as session:
        rows = tickets.builtin(session)
    return render(request, "tickets.html", person, tickets=rows)


@router.get("/tickets/{key}")
def ticket_page(request: Request, svc: ServicesDep, person: Viewer, key: str) -> Response:
    """One built-in ticket: status, comments and the incidents it belongs to."""
    try:
        with svc.db.read() as session:
            found = tickets.view(session, key)
    except FAILURES as exc:
        return render(request, "error.html", person, code=CODES[type(exc)], error=str(exc))
    return render(request, "ticket.html", person, view=found)
