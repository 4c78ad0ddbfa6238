"""The rotations the Engineering Manager fills: edits to a rotation, overrides and swaps
(Engineering Manager only), and the hand-off notices when a shift begins. Who holds a role
at a time is ``core.people``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, select

from escalator.config.process_schema import Rotation
from escalator.domain import roster
from escalator.domain.permissions import check_action
from escalator.process.core import announce, people
from escalator.process.core.context import SYSTEM, Ctx
from escalator.process.core.errors import InvalidInput, NotFound, possible_id
from escalator.process.core.records import enqueue, schedule_once
from escalator.store.models import RotationEdit, RotationOverride, RotationSwap, Timer

HANDOFF = "rotation.handoff"
Change = TypeVar("Change", RotationOverride, RotationSwap)


def _edited(ctx: Ctx, rotation: str) -> None:
    people.forget(ctx, rotation)
    ensure_handoff_timers(ctx, [rotation])


# -- edits (Engineering Manager only) ----------------------------------------------------


def override_rows(
    ctx: Ctx, rotation: str, *, ending_after: datetime | None = None
) -> list[RotationOverride]:
    """A rotation's overrides as stored (with who made them and why), earliest first."""
    query = select(RotationOverride).where(RotationOverride.rotation == rotation)
    if ending_after is not None:
        query = query.where(RotationOverride.end > ending_after)
    return list(ctx.session.scalars(query.order_by(RotationOverride.start)))


def swap_rows(ctx: Ctx, rotation: str) -> list[RotationSwap]:
    query = select(RotationSwap).where(RotationSwap.rotation == rotation)
    return list(ctx.session.scalars(query.order_by(RotationSwap.id)))


def _check_edit(ctx: Ctx) -> None:
    if ctx.actor != SYSTEM:
        check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "rotation.edit")


def revised(ctx: Ctx, name: str, changes: Mapping[str, object]) -> Rotation:
    """The rotation as it stands with ``changes`` (fields given as not None) laid over it,
    checked as the process file would be; raises pydantic's ValidationError."""
    current = people.definition(ctx, name)[0].model_dump(mode="json")
    given = {field: value for field, value in changes.items() if value is not None}
    return Rotation.model_validate({**current, **given})


def edit_rotation(ctx: Ctx, name: str, spec: Rotation) -> RotationEdit:
    """Replace a rotation's members, shift, start, hand-off time or timezone (Engineering
    Manager only); the members must be people of the process file."""
    _check_edit(ctx)
    people.definition(ctx, name)
    unknown = [m for m in spec.members if ctx.process.person(m) is None]
    if unknown:
        raise InvalidInput("members", f"not people in the process file: {', '.join(unknown)}")
    if not spec.members:
        raise InvalidInput("members", "a rotation needs at least one member")
    if len(set(spec.members)) != len(spec.members):
        raise InvalidInput("members", "list each member once; the order is the turn order")
    if spec.shift < timedelta(hours=1):
        raise InvalidInput("shift", "shifts of less than an hour would page a new person hourly")
    edit = ctx.session.get(RotationEdit, name)
    if edit is None:
        edit = RotationEdit(name=name)
        ctx.session.add(edit)
    edit.spec = spec.model_dump(mode="json")
    edit.updated_by, edit.updated_at = ctx.actor, ctx.now
    ctx.session.flush()
    _edited(ctx, name)
    return edit


def reset_rotation(ctx: Ctx, name: str) -> None:
    """Back to the process file's definition (Engineering Manager only)."""
    _check_edit(ctx)
    people.definition(ctx, name)
    ctx.session.execute(delete(RotationEdit).where(RotationEdit.name == name))
    _edited(ctx, name)


def add_override(
    ctx: Ctx, rotation: str, *, person: str, start: datetime, end: datetime, note: str = ""
) -> RotationOverride:
    _check_edit(ctx)
    people.within_reach(ctx, "override", start, end)
    rot, existing, _ = people.parts(ctx, rotation)
    new = roster.Override(start, end, person)
    problems = roster.override_problems(rot, new, existing, ctx.process.spec.people)
    if problems:
        raise InvalidInput("override", "; ".join(problems))
    row = RotationOverride(rotation=rotation, start=start, end=end, person=person)
    return _store(ctx, rotation, row, note)


def _store(ctx: Ctx, rotation: str, row: Change, note: str) -> Change:
    row.note, row.created_by, row.created_at = note, ctx.actor, ctx.now
    ctx.session.add(row)
    ctx.session.flush()
    _edited(ctx, rotation)
    return row


def _remove(ctx: Ctx, rotation: str, model: type[Change], row_id: int, what: str) -> None:
    _check_edit(ctx)
    people.roster_of(ctx, rotation)
    missing = f"no {what} #{row_id} in rotation {rotation}"
    row_id = possible_id(row_id, missing)
    query = delete(model).where(model.id == row_id, model.rotation == rotation)
    if not ctx.session.execute(query).rowcount:  # type: ignore[attr-defined]
        raise NotFound(missing)
    _edited(ctx, rotation)


def remove_override(ctx: Ctx, rotation: str, override_id: int) -> None:
    _remove(ctx, rotation, RotationOverride, override_id, "override")


def add_swap(
    ctx: Ctx, rotation: str, *, first: datetime, second: datetime, note: str = ""
) -> RotationSwap:
    _check_edit(ctx)
    people.within_reach(ctx, "swap", first, second)
    rot, _, existing = people.parts(ctx, rotation)
    problems = roster.swap_problems(rot, roster.Swap(first, second), existing)
    if problems:
        raise InvalidInput("swap", "; ".join(problems))
    return _store(ctx, rotation, RotationSwap(rotation=rotation, first=first, second=second), note)


def remove_swap(ctx: Ctx, rotation: str, swap_id: int) -> None:
    _remove(ctx, rotation, RotationSwap, swap_id, "swap")


# -- hand-off notices ----------------------------------------------------------------------


def ensure_handoff_timers(ctx: Ctx, rotations: list[str] | None = None) -> None:
    """A pending timer for each rotation's next hand-off. Keyed by rotation, time and
    person, so several processes (or repeated calls) store it once; a timer made stale by a
    later edit finds at its time that nothing changes and stays silent."""
    for name in rotations or list(ctx.process.spec.rotations):
        rot, overs, sw = people.parts(ctx, name)
        change = roster.next_change(rot, ctx.now, overs, sw)
        if change is None:
            continue
        at, person = change
        schedule_once(
            ctx,
            HANDOFF,
            at,
            key=f"handoff:{name}:{at.isoformat()}:{person}",
            payload={"rotation": name, "person": person},
        )


def on_handoff(ctx: Ctx, incident: object, timer: Timer) -> None:
    """A shift begins: tell the person taking over, then arm the next hand-off."""
    name, person = timer.payload.get("rotation", ""), timer.payload.get("person")
    if name not in ctx.process.spec.rotations:
        return
    rot, overs, sw = people.parts(ctx, name)
    before = roster.holder(rot, timer.due_at - timedelta(microseconds=1), overs, sw)
    if person and roster.holder(rot, timer.due_at, overs, sw) == person and before != person:
        change = roster.next_change(rot, timer.due_at, overs, sw)
        until = f" until {change[0]:%a %d %b %H:%M} UTC" if change else ""
        roles = [r for r in ctx.process.spec.roles if ctx.process.rotation_of(r) == name]
        text = (
            f"Your {' / '.join(roles) or name} shift begins now{until} "
            f"(taking over from {before or 'nobody'})."
        )
        _tell(ctx, person, text, key=f"handoff:{name}:{timer.due_at.isoformat()}")
    ensure_handoff_timers(ctx, [name])


def _tell(ctx: Ctx, person: str, text: str, *, key: str) -> None:
    """A message about no incident: the console, a Slack DM and email where configured."""
    contact = ctx.process.person(person)
    destinations = [("console", person)]
    if contact is not None and ctx.channels.email:
        destinations.append(("email", contact.email))
    for channel, destination in destinations:
        enqueue(
            ctx,
            incident=None,
            channel=channel,
            destination=destination,
            subject=text,
            body=text,
            idempotency_key=f"{key}:{channel}:{person}",
        )
    slack_key = f"{key}:{announce.SLACK}:{person}"
    announce.direct_message(ctx, None, person, text, subject=text, body=text, key=slack_key)
