"""The console's COMMUNICATE pages: second tier's "Updates due" queue, and an incident's
customers — contacts, ledger, the draft and send form — as a page of its own and as the
panel on the incident's page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.domain.durations import format_duration
from escalator.domain.permissions import ACTION_ROLES
from escalator.process.communicate import closing, contacts, updates, view
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.web.routes import CODES, FAILURES, Viewer, render, run_form, templates


def countdown(due_at: datetime | None, now: datetime) -> str:
    """``in 25m``, ``overdue 5m``; whole minutes, as the queue refreshes."""
    if due_at is None:
        return ""
    seconds = int((due_at - now).total_seconds())
    minutes = format_duration(timedelta(minutes=max(1, abs(seconds) // 60)))
    return f"in {minutes}" if seconds > 0 else f"overdue {minutes}"


templates.env.filters["countdown"] = countdown
router = APIRouter(include_in_schema=False)


@router.get("/updates")
def queue(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    now = svc.clock.now()
    with svc.db.read() as session:
        items = view.due(session, now)
    partial = request.headers.get("HX-Request") == "true"
    # overdue while the incident is open: what the Support Manager is told of (clock.py)
    overdue = [i for i in items if i.due_at and i.due_at <= now and not i.resolution]
    return render(
        request,
        "_due_rows.html" if partial else "updates.html",
        person,
        items=items,
        now=now,
        overdue=overdue,
    )


def _show(
    request: Request,
    svc: Services,
    person: str,
    key: str,
    *,
    template: str = "customers.html",
    error: str = "",
    code: int = 200,
    text: str | None = None,
    next_update: str | None = None,
    reason: str = "",
) -> Response:
    now = svc.clock.now()
    try:
        with svc.db.read() as session:
            panel = view.panel(session, svc.process, key, now, sender=person)
    except FAILURES as exc:
        return render(request, "error.html", person, code=CODES[type(exc)], error=str(exc))
    roles = svc.process.roles_of(person)
    return render(
        request,
        template,
        person,
        code=code,
        panel=panel,
        # the forms offered only to whom the use cases allow (domain/permissions.py)
        may_update=bool(roles & ACTION_ROLES["customer.update"]),
        may_waive=bool(roles & ACTION_ROLES["customer.waive"]),
        who_updates=_holders(svc, "customer.update"),
        who_waives=_holders(svc, "customer.waive"),
        now=now,
        error=error,
        text=panel.draft if text is None else text,
        next_update=panel.suggested_next if next_update is None else next_update,
        reason=reason,
        back="incident" if template == "_customers.html" else "customers",
    )


def _holders(svc: Services, action: str) -> str:
    """Who may take ``action``, in words: "the Support Manager or On Duty Second-Tier …"."""
    roles = svc.process.spec.roles
    names = [roles[r].description if r in roles else r for r in sorted(ACTION_ROLES[action])]
    return " or ".join(names)


@router.get("/incidents/{key}/customers")
def customers(
    request: Request, svc: ServicesDep, person: Viewer, key: str, part: str = ""
) -> Response:
    template = "_customers.html" if part == "panel" else "customers.html"
    return _show(request, svc, person, key, template=template)


def _do(
    request: Request,
    svc: Services,
    person: str,
    key: str,
    step: Callable[[Ctx], object],
    back: str,
    **kept: str,
) -> Response:
    """Run ``step`` as ``person``; back where the form was, or the page with what went wrong
    (and what was typed, so an edited update is not lost)."""
    where = f"/incidents/{key}#customers" if back == "incident" else f"/incidents/{key}/customers"
    return run_form(
        svc,
        person,
        step,
        done=where,
        refused=lambda error, code: _show(
            request,
            svc,
            person,
            key,
            error=error,
            code=code,
            text=kept.get("text"),
            next_update=kept.get("next_update"),
            reason=kept.get("reason", ""),
        ),
    )


@router.post("/incidents/{key}/customers/update")
def send(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    text: Annotated[str, Form()] = "",
    next_update: Annotated[str, Form(alias="next")] = "",
    contact: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form()] = "",
) -> Response:
    def step(ctx: Ctx) -> None:
        if not contact:
            raise InvalidInput("contact", "tick at least one contact to send the update to")
        updates.send(ctx, key, text=text, next_update=next_update or None, to=contact)

    return _do(request, svc, person, key, step, back, text=text, next_update=next_update)


@router.post("/incidents/{key}/customers/contact")
def add_contact(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    return _do(
        request,
        svc,
        person,
        key,
        lambda ctx: contacts.add(ctx, key, name=name, email=email or None, phone=phone or None),
        back,
    )


@router.post("/incidents/{key}/customers/read")
def read(
    request: Request, svc: ServicesDep, person: Viewer, key: str, back: Annotated[str, Form()] = ""
) -> Response:
    return _do(request, svc, person, key, lambda ctx: contacts.mark_read(ctx, key), back)


@router.post("/incidents/{key}/customers/waive")
def waive(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    return _do(
        request,
        svc,
        person,
        key,
        lambda ctx: closing.waive(ctx, key, reason=reason),
        back,
        reason=reason,
    )
