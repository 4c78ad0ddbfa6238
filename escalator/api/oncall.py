"""On call and escalation: who holds each role, rotation schedules, overrides and swaps (the
Engineering Manager's), calendar feeds, the Support Manager's decision, pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from escalator.api.deps import Look, ServicesDep, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Body, FromRow, Id, IncidentOut, NoteIn
from escalator.config.process_schema import Rotation
from escalator.domain.roster import Shift
from escalator.process.core import people, signing
from escalator.process.core.context import Ctx
from escalator.process.core.records import load
from escalator.process.escalate import calendar, escalation, pages, paging, rotations

router = APIRouter(tags=["on call"])


class OnCallOut(BaseModel):
    role: str
    rotation: str | None
    people: list[str]
    until: datetime | None = Field(description="The next hand-off, for rotating roles")
    next_person: str | None


class ShiftOut(BaseModel):
    start: datetime
    end: datetime
    person: str | None
    source: Literal["rotation", "swap", "override"]

    @classmethod
    def of(cls, shift: Shift) -> ShiftOut:
        return cls(start=shift.start, end=shift.end, person=shift.person, source=shift.source)  # type: ignore[arg-type]


class ScheduleOut(BaseModel):
    rotation: str
    shifts: list[ShiftOut]


class OverrideIn(Body):
    person: str = Field(max_length=64, description="Who covers")
    start: datetime = Field(description="With an offset, e.g. 2026-12-01T09:00:00+00:00")
    end: datetime
    note: str = Field(default="", max_length=2000)


class OverrideOut(FromRow):
    id: int
    rotation: str
    person: str
    start: datetime
    end: datetime
    note: str
    created_by: str
    created_at: datetime


class SwapIn(Body):
    first: datetime = Field(description="A moment in the first shift")
    second: datetime = Field(description="A moment in the second shift")
    note: str = Field(default="", max_length=2000)


class SwapOut(FromRow):
    id: int
    rotation: str
    first: datetime
    second: datetime
    note: str
    created_by: str
    created_at: datetime


class DecisionIn(NoteIn):
    decision: Literal["apply_playbook", "no_playbook", "engineering_manager", "on_call"]


class PageOut(FromRow):
    id: int
    chain: str
    step: int
    target: str
    person: str | None
    state: str
    reason: str
    paged_at: datetime
    ack_due_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    late_ms: int | None


class FeedLinks(BaseModel):
    rotations: dict[str, str]
    people: dict[str, str]


@router.get("/api/v1/oncall", response_model=list[OnCallOut], responses=ERRORS)
def on_call_now(ctx: Look) -> list[OnCallOut]:
    return [OnCallOut(**vars(row)) for row in people.now(ctx)]


@router.get("/api/v1/oncall/{role}/schedule", response_model=ScheduleOut, responses=ERRORS)
def schedule(
    role: str,
    ctx: Look,
    days: Annotated[int, Query(ge=1, le=366)] = 14,
    start: datetime | None = None,
) -> ScheduleOut:
    """Who holds a rotating role (or a rotation, by name) over the coming days."""
    rotation = people.rotation_for_role(ctx, role)
    shifts = people.schedule(ctx, rotation, start or ctx.now, days)
    return ScheduleOut(rotation=rotation, shifts=[ShiftOut.of(s) for s in shifts])


class RotationOut(BaseModel):
    name: str
    roles: list[str]
    definition: Rotation
    edited_by: str | None = Field(description="Who replaced the process file's definition")
    edited_at: datetime | None


def _rotation_out(ctx: Ctx, name: str) -> RotationOut:
    spec, edit = people.definition(ctx, name)
    roles = [r for r in ctx.process.spec.roles if ctx.process.rotation_of(r) == name]
    return RotationOut(
        name=name,
        roles=roles,
        definition=spec,
        edited_by=edit.updated_by if edit else None,
        edited_at=edit.updated_at if edit else None,
    )


@router.get("/api/v1/rotations", response_model=list[RotationOut], responses=ERRORS)
def list_rotations(ctx: Look) -> list[RotationOut]:
    return [_rotation_out(ctx, name) for name in ctx.process.spec.rotations]


@router.put("/api/v1/rotations/{rotation}", response_model=RotationOut, responses=ERRORS)
def edit_rotation(rotation: str, body: Rotation, work: Work) -> RotationOut:
    """Members in turn order, shift, start, hand-off time and timezone, replacing the process
    file's definition. Engineering Manager only."""
    with work() as ctx:
        rotations.edit_rotation(ctx, rotation, body)
        return _rotation_out(ctx, rotation)


@router.delete("/api/v1/rotations/{rotation}", response_model=RotationOut, responses=ERRORS)
def reset_rotation(rotation: str, work: Work) -> RotationOut:
    """Back to the process file's definition. Engineering Manager only."""
    with work() as ctx:
        rotations.reset_rotation(ctx, rotation)
        return _rotation_out(ctx, rotation)


@router.get(
    "/api/v1/rotations/{rotation}/overrides", response_model=list[OverrideOut], responses=ERRORS
)
def list_overrides(rotation: str, ctx: Look) -> list[OverrideOut]:
    people.rotation_for_role(ctx, rotation)
    return [OverrideOut.of(r) for r in rotations.override_rows(ctx, rotation)]


@router.post(
    "/api/v1/rotations/{rotation}/overrides",
    response_model=OverrideOut,
    status_code=201,
    responses=ERRORS,
)
def add_override(rotation: str, body: OverrideIn, work: Work) -> OverrideOut:
    """Someone covers the rotation for a while. Engineering Manager only."""
    with work() as ctx:
        row = rotations.add_override(
            ctx, rotation, person=body.person, start=body.start, end=body.end, note=body.note
        )
        return OverrideOut.of(row)


@router.delete(
    "/api/v1/rotations/{rotation}/overrides/{override_id}", status_code=204, responses=ERRORS
)
def remove_override(rotation: str, override_id: Id, work: Work) -> Response:
    with work() as ctx:
        rotations.remove_override(ctx, rotation, override_id)
        return Response(status_code=204)


@router.get("/api/v1/rotations/{rotation}/swaps", response_model=list[SwapOut], responses=ERRORS)
def list_swaps(rotation: str, ctx: Look) -> list[SwapOut]:
    people.rotation_for_role(ctx, rotation)
    return [SwapOut.of(r) for r in rotations.swap_rows(ctx, rotation)]


@router.post(
    "/api/v1/rotations/{rotation}/swaps", response_model=SwapOut, status_code=201, responses=ERRORS
)
def add_swap(rotation: str, body: SwapIn, work: Work) -> SwapOut:
    """Two shifts trade holders. Engineering Manager only."""
    with work() as ctx:
        row = rotations.add_swap(
            ctx, rotation, first=body.first, second=body.second, note=body.note
        )
        return SwapOut.of(row)


@router.delete("/api/v1/rotations/{rotation}/swaps/{swap_id}", status_code=204, responses=ERRORS)
def remove_swap(rotation: str, swap_id: Id, work: Work) -> Response:
    with work() as ctx:
        rotations.remove_swap(ctx, rotation, swap_id)
        return Response(status_code=204)


@router.get("/api/v1/calendar-links", response_model=FeedLinks, responses=ERRORS)
def calendar_links(ctx: Look) -> FeedLinks:
    """Private iCalendar links: every rotation's, and your own (the Engineering Manager gets
    everyone's, to hand out)."""
    everyone = "engineering_manager" in ctx.process.roles_of(ctx.actor)
    people = [p for p in ctx.process.spec.people if everyone or p == ctx.actor]
    return FeedLinks(
        rotations={
            r: calendar.feed_url(ctx.links, "rotation", r) for r in ctx.process.spec.rotations
        },
        people={p: calendar.feed_url(ctx.links, "person", p) for p in people},
    )


@router.get(
    "/calendar/{kind}/{name}.ics",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "description": "An iCalendar (RFC 5545) feed",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
    },
)
def feed(kind: Literal["rotation", "person"], name: str, token: str, svc: ServicesDep) -> Response:
    """An iCalendar feed behind a private link: no sign-in, the token is the key."""
    signing.check_feed_token(svc.links.key, kind, name, token)
    with svc.looking("calendar") as ctx:
        body = (
            calendar.rotation_feed(ctx, name)
            if kind == "rotation"
            else calendar.person_feed(ctx, name)
        )
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.post("/api/v1/incidents/{key}/decision", response_model=IncidentOut, responses=ERRORS)
def decide(key: str, body: DecisionIn, work: Work) -> IncidentOut:
    """The Support Manager's next course of action: apply_playbook, no_playbook,
    engineering_manager (low severity) or on_call (high severity; needs the playbook to have
    failed or no playbook to apply)."""
    with work() as ctx:
        return IncidentOut.of(escalation.decide(ctx, key, body.decision, note=body.note))


@router.post("/api/v1/incidents/{key}/bring-in", response_model=IncidentOut, responses=ERRORS)
def bring_in(key: str, work: Work, body: NoteIn | None = None) -> IncidentOut:
    """The one-hour rule by hand: page the SME (then the Engineering Manager)."""
    with work() as ctx:
        return IncidentOut.of(paging.bring_in(ctx, key, note=body.note if body else ""))


@router.get("/api/v1/incidents/{key}/pages", response_model=list[PageOut], responses=ERRORS)
def list_pages(key: str, ctx: Look) -> list[PageOut]:
    return [PageOut.of(p) for p in pages.of(ctx, load(ctx, key, for_update=False))]
