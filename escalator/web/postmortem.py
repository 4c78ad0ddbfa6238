"""The console's POST MORTEM pages: an incident's post-mortem (the form, its timeline, action
items, playbook entry drafts, the waiver) and the weekly review (its agenda, a form per
incident, the action items open or overdue)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from escalator.api.deps import ServicesDep
from escalator.api.postmortem import due_at
from escalator.app import Services
from escalator.domain.permissions import ACTION_ROLES
from escalator.domain.postmortem import DETAILS, DIRECTIONS, KIND_LABELS
from escalator.process.core import people
from escalator.process.core.context import Ctx
from escalator.process.core.errors import NotFound
from escalator.process.postmortem import actions, drafts, retrospective
from escalator.process.postmortem import review as reviews
from escalator.process.postmortem import view as pm_view
from escalator.process.postmortem.readings import NotAvailable
from escalator.web.routes import CODES, FAILURES, Viewer, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
DETAIL_FIELDS = ("alarm", "direction", "from", "to", "metric", "service", "url")
# the action item form's fields in words, for its labels and its errors
FIELD_LABELS = {
    "kind": "Kind",
    "title": "What is to be done",
    "owner": "Owner",
    "due": "Due",
    "jira": "JIRA",
    "alarm": "Alarm",
    "direction": "Direction",
    "from": "Threshold from",
    "to": "Threshold to",
    "metric": "Metric",
    "service": "Service",
    "url": "Document URL",
}


def _in_words(exc: Exception) -> str:
    """An action item's refusal with each field named as the form labels it
    ("Alarm: an alarm threshold item needs …") instead of ``details.alarm``."""
    text = str(exc)
    for name, label in FIELD_LABELS.items():
        text = re.sub(rf"(^|; )(details\.)?{name}: ", rf"\g<1>{label}: ", text)
    return text


def _common(ctx: Ctx, person: str) -> dict[str, Any]:
    roles = people.roles_of(ctx, person)
    return {
        "causes": ctx.process.spec.postmortem.root_causes,
        "kinds": KIND_LABELS,
        "directions": DIRECTIONS,
        "people_ids": list(ctx.process.spec.people),
        "manager": bool(roles & ACTION_ROLES["postmortem.review"]),
        # the owner of a post-mortem writes it too (retrospective.check_write)
        "writer": bool(roles & ACTION_ROLES["postmortem.write"]),
        "waiver_ok": bool(roles & ACTION_ROLES["postmortem.waive"]),
        "kind_fields": {k: req + opt for k, (req, opt) in DETAILS.items()},
        "kind_required": {k: req for k, (req, _) in DETAILS.items()},
        "field_labels": FIELD_LABELS,
        "now": ctx.now,
        "not_available": NotAvailable,
    }


def _postmortem_page(
    request: Request,
    svc: Services,
    person: str,
    key: str,
    *,
    error: str = "",
    code: int = 200,
    typed: dict[str, dict[str, str]] | None = None,
) -> Response:
    try:
        with svc.looking(person) as ctx:
            shown = pm_view.view(ctx, key)
            common = _common(ctx, person)
    except NotFound as exc:
        return render(request, "error.html", person, code=404, error=str(exc))
    return render(
        request,
        "postmortem.html",
        person,
        code=code,
        error=error,
        pm=shown,
        typed=typed or {},
        **common,
    )


def _review_page(
    request: Request,
    svc: Services,
    person: str,
    review_id: int | None,
    *,
    error: str = "",
    code: int = 200,
    typed: dict[str, dict[str, str]] | None = None,
) -> Response:
    with svc.looking(person) as ctx:
        try:
            row = reviews.get(ctx, review_id)
        except NotFound as exc:
            if review_id is not None:
                return render(request, "error.html", person, code=404, error=str(exc))
            common = _common(ctx, person)
            return render(
                request,
                "review.html",
                person,
                code=code,
                review=None,
                past=[],
                error=error,
                **common,
            )
        agenda = reviews.agenda_of(ctx, row)
        entries = [
            pm_view.view(ctx, a.incident.key) for a in agenda.incidents if a.postmortem is not None
        ]
        open_items = pm_view.item_views(ctx, agenda.action_items)
        common = _common(ctx, person)
        past = reviews.reviews(ctx, limit=12)
    return render(
        request,
        "review.html",
        person,
        code=code,
        error=error,
        review=row,
        entries=entries,
        open_items=open_items,
        past=past,
        typed=typed or {},
        **common,
    )


def _back(
    request: Request,
    svc: Services,
    person: str,
    key: str,
    back: str,
    exc: Exception,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
) -> Response:
    """Show the failure on the page the form was on, with what was typed in its form
    (``typed``: the form's name, ``post-mortem`` or ``action-item``, and its fields)."""
    code = CODES[type(exc)]  # type: ignore[index]
    said = str(exc) if error is None else error
    kept = {key: typed} if typed else None
    if back.startswith("/reviews/"):
        review_id = back.removeprefix("/reviews/")
        if review_id.isdigit():
            return _review_page(
                request, svc, person, int(review_id), error=said, code=code, typed=kept
            )
    return _postmortem_page(request, svc, person, key, error=said, code=code, typed=kept)


def _to(back: str, key: str) -> RedirectResponse:
    safe = back if back.startswith("/") and not back.startswith("//") else ""
    return RedirectResponse(safe or f"/incidents/{key}/postmortem", status_code=303)


@router.get("/incidents/{key}/postmortem")
def postmortem_page(request: Request, svc: ServicesDep, person: Viewer, key: str) -> Response:
    return _postmortem_page(request, svc, person, key)


@router.post("/incidents/{key}/postmortem")
def write(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    root_cause: Text = "",
    factors: Text = "",
    trigger_change: Text = "",
    detected_by: Text = "",
    service: Text = "",
    went_well: Text = "",
    went_badly: Text = "",
    back: Text = "",
) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            retrospective.update(
                ctx,
                key,
                root_cause=root_cause or None,
                factors=factors.splitlines(),
                trigger_change=trigger_change or None,
                detected_by=detected_by or None,
                service=service,
                went_well=went_well,
                went_badly=went_badly,
            )
    except FAILURES as exc:
        typed = {
            "form": "post-mortem",
            "root_cause": root_cause,
            "factors": factors,
            "trigger_change": trigger_change,
            "detected_by": detected_by,
            "service": service,
            "went_well": went_well,
            "went_badly": went_badly,
        }
        return _back(request, svc, person, key, back, exc, typed=typed)
    return _to(back, key)


@router.post("/incidents/{key}/postmortem/{move}")
def move(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    move: str,
    reason: Text = "",
    back: Text = "",
) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            if move == "reviewed":
                retrospective.mark_reviewed(ctx, key)
            elif move == "waiver":
                retrospective.waive(ctx, key, reason)
            else:
                raise NotFound(f"no post-mortem action {move!r}")
    except FAILURES as exc:
        return _back(request, svc, person, key, back, exc)
    return _to(back, key)


@router.post("/incidents/{key}/action-items")
def add_item(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    kind: Text = "",
    title: Text = "",
    owner: Text = "",
    due: Text = "",
    jira: Text = "",
    alarm: Text = "",
    direction: Text = "",
    from_: Annotated[str, Form(alias="from")] = "",
    to: Text = "",
    metric: Text = "",
    service: Text = "",
    url: Text = "",
    back: Text = "",
) -> Response:
    given = {
        "alarm": alarm,
        "direction": direction,
        "from": from_,
        "to": to,
        "metric": metric,
        "service": service,
        "url": url,
    }
    try:
        with svc.unit_of_work(person) as ctx:
            actions.add(
                ctx,
                key,
                kind=kind,
                title=title,
                owner=owner or None,
                due_at=due_at(ctx, due, owner),
                # only the fields of the kind picked: the form holds every kind's fields
                details={
                    k: v
                    for k, v in given.items()
                    if v.strip()
                    and (kind not in DETAILS or k in DETAILS[kind][0] + DETAILS[kind][1])
                },
                jira=jira or None,
            )
    except FAILURES as exc:
        typed = {"form": "action-item", "kind": kind, "title": title, "owner": owner}
        typed |= {"due": due, "jira": jira, **given}
        return _back(request, svc, person, key, back, exc, typed=typed, error=_in_words(exc))
    return _to(back, key)


@router.post("/action-items/{item_id}/state")
def item_state(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    item_id: int,
    state: Text = "",
    reason: Text = "",
    back: Text = "",
) -> Response:
    key = ""
    try:
        with svc.unit_of_work(person) as ctx:
            item = actions.set_state(ctx, item_id, state, reason=reason)
            key = f"INC-{item.incident_id}"
    except FAILURES as exc:
        return _back(request, svc, person, key or "0", back, exc)
    return _to(back, key)


@router.post("/action-items/{item_id}/draft")
def edit_draft(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    item_id: int,
    entry_id: Text = "",
    title: Text = "",
    alerts: Text = "",
    services: Text = "",
    sources: Text = "",
    keywords: Text = "",
    steps: Text = "",
    notes: Text = "",
    publish: Text = "",
    back: Text = "",
) -> Response:
    def listed(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    key = ""
    try:
        with svc.unit_of_work(person) as ctx:
            draft = drafts.update(
                ctx,
                item_id,
                entry_id=entry_id,
                title=title,
                match={
                    "alerts": listed(alerts),
                    "services": listed(services),
                    "sources": listed(sources),
                    "keywords": listed(keywords),
                },
                steps=steps.splitlines(),
                notes=notes,
            )
            key = f"INC-{actions.get(ctx, draft.action_item_id)[0].incident_id}"
        if publish:
            with svc.unit_of_work(person) as ctx:
                drafts.publish(ctx, item_id)
    except FAILURES as exc:
        return _back(request, svc, person, key or "0", back, exc)
    return _to(back, key)


@router.get("/reviews")
def latest_review(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    return _review_page(request, svc, person, None)


@router.post("/reviews")
def open_review_now(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    """A manager opens the coming weekly review now (what its timer does on the day)."""
    try:
        with svc.unit_of_work(person) as ctx:
            opened = reviews.open_now(ctx)
            review_id = opened.id
    except FAILURES as exc:
        return _review_page(request, svc, person, None, error=str(exc), code=CODES[type(exc)])
    return RedirectResponse(f"/reviews/{review_id}", status_code=303)


@router.get("/reviews/{review_id}")
def review_page(request: Request, svc: ServicesDep, person: Viewer, review_id: int) -> Response:
    return _review_page(request, svc, person, review_id)
