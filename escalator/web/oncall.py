"""The console's on-call page (who is on call, a two-week calendar, overrides, swaps, feeds,
pages that went wrong) and the signed acknowledgement links sent with pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.domain.lifecycle import IllegalTransition
from escalator.process.core import people, signing
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.escalate import calendar, pages, paging, rotations
from escalator.web.routes import CODES, FAILURES, Viewer, render

router = APIRouter(include_in_schema=False)
DAYS = 14


def _calendar(ctx: Ctx, rotation: str, start: datetime) -> list[dict[str, Any]]:
    """One cell a day: who holds the rotation that day, with the time each turn begins."""
    shifts = people.schedule(ctx, rotation, start, DAYS)
    days = []
    for i in range(DAYS):
        day_start, day_end = start + timedelta(days=i), start + timedelta(days=i + 1)
        entries = [
            {
                "person": s.person or "nobody",
                "source": s.source,
                "from": max(s.start, day_start),
                "begins": s.start >= day_start,
            }
            for s in shifts
            if s.start < day_end and s.end > day_start
        ]
        days.append({"date": day_start, "entries": entries})
    return days


def _show(
    request: Request, svc: Services, person: str, *, error: str = "", code: int = 200
) -> Response:
    with svc.looking(person) as ctx:
        now = ctx.now
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        names = list(ctx.process.spec.rotations)
        view = {
            "table": people.now(ctx),
            "calendar": {r: _calendar(ctx, r, start) for r in names},
            "overrides": {r: rotations.override_rows(ctx, r, ending_after=now) for r in names},
            "swaps": {r: rotations.swap_rows(ctx, r) for r in names},
            "feeds": {r: calendar.feed_url(ctx.links, "rotation", r) for r in names},
            "my_feed": calendar.feed_url(ctx.links, "person", person),
            "problems": pages.page_problems(ctx.session),
            "may_edit": "engineering_manager" in ctx.process.roles_of(person),
            "definitions": {r: people.definition(ctx, r) for r in names},
        }
    return render(
        request, "oncall.html", person, code=code, error=error, now=now, canonical="/oncall", **view
    )


@router.get("/oncall")
def page(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    return _show(request, svc, person)


def _edit(
    request: Request, svc: Services, person: str, change: Callable[[Ctx], object]
) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            change(ctx)
    except FAILURES as exc:
        return _show(request, svc, person, error=str(exc), code=CODES[type(exc)])
    return RedirectResponse("/oncall", status_code=303)


def _local(ctx: Ctx, rotation: str, value: str, field: str) -> datetime:
    """A datetime-local form value, read in the rotation's timezone."""
    spec, _ = people.definition(ctx, rotation)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(field, "give a date and time, e.g. 2026-12-01T09:00") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(spec.timezone))


@router.post("/oncall/{rotation}/overrides")
def add_override(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    rotation: str,
    who: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def change(ctx: Ctx) -> object:
        return rotations.add_override(
            ctx,
            rotation,
            person=who,
            start=_local(ctx, rotation, start, "start"),
            end=_local(ctx, rotation, end, "end"),
            note=note,
        )

    return _edit(request, svc, person, change)


@router.post("/oncall/{rotation}/definition")
def edit_rotation(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    rotation: str,
    members: Annotated[str, Form()] = "",
    shift: Annotated[str, Form()] = "",
    handoff: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    def change(ctx: Ctx) -> object:
        changes = {
            "members": [m.strip() for m in members.split(",") if m.strip()],
            "shift": shift or None,
            "handoff": handoff or None,
            "timezone": timezone or None,
        }
        try:
            spec = rotations.revised(ctx, rotation, changes)
        except ValidationError as exc:
            reasons = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            raise InvalidInput("rotation", reasons) from exc
        return rotations.edit_rotation(ctx, rotation, spec)

    return _edit(request, svc, person, change)


@router.post("/oncall/{rotation}/overrides/{override_id}/delete")
def remove_override(
    request: Request, svc: ServicesDep, person: Viewer, rotation: str, override_id: int
) -> Response:
    return _edit(
        request, svc, person, lambda ctx: rotations.remove_override(ctx, rotation, override_id)
    )


@router.post("/oncall/{rotation}/swaps")
def add_swap(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    rotation: str,
    first: Annotated[str, Form()] = "",
    second: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def change(ctx: Ctx) -> object:
        return rotations.add_swap(
            ctx,
            rotation,
            first=_local(ctx, rotation, first, "first"),
            second=_local(ctx, rotation, second, "second"),
            note=note,
        )

    return _edit(request, svc, person, change)


@router.post("/oncall/{rotation}/swaps/{swap_id}/delete")
def remove_swap(
    request: Request, svc: ServicesDep, person: Viewer, rotation: str, swap_id: int
) -> Response:
    return _edit(request, svc, person, lambda ctx: rotations.remove_swap(ctx, rotation, swap_id))


# -- acknowledgement links -----------------------------------------------------------------


def _ack_view(
    request: Request, svc: Services, token: str, *, done: str = "", code: int = 200
) -> Response:
    try:
        page_id, person = signing.read_ack_token(svc.links.key, token)
        with svc.looking(person) as ctx:
            page, incident = paging.page_for_ack(ctx, page_id)
            if page.person != person:
                raise NotFound("this acknowledgement link is not valid")
            view = {"page": page, "incident": incident, "paged": person}
    except NotFound as exc:
        return render(request, "error.html", None, code=404, error=str(exc))
    return render(request, "ack.html", None, code=code, token=token, done=done, **view)


@router.get("/ack/{token}")
def ack_page(request: Request, svc: ServicesDep, token: str) -> Response:
    """What a page's link opens: the incident and one button. Opening it changes nothing, so
    mail scanners that follow links cannot acknowledge for you."""
    return _ack_view(request, svc, token)


@router.post("/ack/{token}")
def ack(request: Request, svc: ServicesDep, token: str) -> Response:
    try:
        page_id, person = signing.read_ack_token(svc.links.key, token)
        with svc.unit_of_work(person) as ctx:
            page, incident = paging.page_for_ack(ctx, page_id)
            if page.person != person:
                raise NotFound("this acknowledgement link is not valid")
            paging.acknowledge(ctx, incident.key, note="from the page's link")
    except NotFound as exc:
        return render(request, "error.html", None, code=404, error=str(exc))
    except IllegalTransition as exc:
        return _ack_view(request, svc, token, done=str(exc), code=409)
    return _ack_view(request, svc, token, done=f"Acknowledged {incident.key} as {person}.")
