"""Who holds each role: the process file's holders and rotations, with the Engineering
Manager's edits, overrides and swaps kept in the database (edited in ``escalate.rotations``).
Every stage asks this: who is on duty in first tier, who is on call, who is the SME."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from escalator.config.process_schema import Rotation
from escalator.domain import roster
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.store.models import RotationEdit, RotationOverride, RotationSwap

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
PLANNING_HORIZON = timedelta(days=5 * 366)


def definition(ctx: Ctx, name: str) -> tuple[Rotation, RotationEdit | None]:
    """A rotation as it stands: the Engineering Manager's edit if there is one, else the
    process file's; and the edit itself (who changed it, when)."""
    if name not in ctx.process.spec.rotations:
        known = ", ".join(ctx.process.spec.rotations) or "none"
        raise NotFound(f"no rotation {name!r} (rotations: {known})")
    edit = ctx.session.get(RotationEdit, name)
    if edit is None:
        return ctx.process.spec.rotations[name], None
    return Rotation.model_validate(edit.spec), edit


def roster_of(ctx: Ctx, name: str) -> roster.Rotation:
    return definition(ctx, name)[0].roster()


def overrides(ctx: Ctx, rotation: str) -> list[roster.Override]:
    rows = ctx.session.scalars(
        select(RotationOverride)
        .where(RotationOverride.rotation == rotation)
        .order_by(RotationOverride.start)
    )
    return [roster.Override(r.start, r.end, r.person, r.id) for r in rows]


def swaps(ctx: Ctx, rotation: str) -> list[roster.Swap]:
    rows = ctx.session.scalars(
        select(RotationSwap).where(RotationSwap.rotation == rotation).order_by(RotationSwap.id)
    )
    return [roster.Swap(r.first, r.second, r.id) for r in rows]


def parts(
    ctx: Ctx, rotation: str
) -> tuple[roster.Rotation, list[roster.Override], list[roster.Swap]]:
    """The rotation with its overrides and swaps, read once per transaction (a worker's batch
    pages hundreds of times); edits in the same transaction drop the cached copy."""
    cache = ctx.session.info.setdefault("rotations", {})
    if rotation not in cache:
        cache[rotation] = (roster_of(ctx, rotation), overrides(ctx, rotation), swaps(ctx, rotation))
    return cache[rotation]  # type: ignore[no-any-return]


def forget(ctx: Ctx, rotation: str) -> None:
    """Drop the transaction's cached copy of a rotation after an edit."""
    ctx.session.info.get("rotations", {}).pop(rotation, None)


def members(ctx: Ctx, role: str) -> list[str]:
    """Everyone who may act in ``role``: its holders, or its rotation's current members."""
    rotation = ctx.process.rotation_of(role)
    if rotation is None:
        return ctx.process.members(role)
    return list(parts(ctx, rotation)[0].members)


def roles_of(ctx: Ctx, person: str) -> frozenset[str]:
    """The person's roles, with rotation membership as the Engineering Manager left it."""
    roles = {r for r in ctx.process.roles_of(person) if ctx.process.rotation_of(r) is None}
    for role in ctx.process.spec.roles:
        if ctx.process.rotation_of(role) is not None and person in members(ctx, role):
            roles.add(role)
    return frozenset(roles)


def holders(ctx: Ctx, role: str, at: datetime | None = None) -> list[str]:
    """Who holds ``role`` at ``at`` (now by default), overrides and swaps included."""
    at = at or ctx.now
    rotation = ctx.process.rotation_of(role)
    if rotation is None:
        return ctx.process.holders_at(role, at)
    rot, overs, sw = parts(ctx, rotation)
    who = roster.holder(rot, at, overs, sw)
    return [who] if who else []


def resolve_step(ctx: Ctx, step: str, at: datetime | None = None) -> str | None:
    """The person a page step names now: ``role`` is its holder, ``role.backup`` the
    rotation's next person."""
    at = at or ctx.now
    role, _, modifier = step.partition(".")
    rotation = ctx.process.rotation_of(role)
    if modifier == "backup" and rotation is not None:
        rot, overs, sw = parts(ctx, rotation)
        return roster.backup(rot, at, overs, sw)
    found = holders(ctx, role, at)
    return found[0] if found else None


@dataclass(frozen=True)
class OnCall:
    role: str
    rotation: str | None
    people: list[str]
    until: datetime | None  # the next hand-off, for rotations
    next_person: str | None


def now(ctx: Ctx) -> list[OnCall]:
    """Every role and who holds it now; rotations with when and to whom they hand over."""
    table = []
    for role in ctx.process.spec.roles:
        rotation = ctx.process.rotation_of(role)
        if rotation is None:
            table.append(OnCall(role, None, ctx.process.holders_at(role, ctx.now), None, None))
            continue
        rot, overs, sw = parts(ctx, rotation)
        who = roster.holder(rot, ctx.now, overs, sw)
        change = roster.next_change(rot, ctx.now, overs, sw)
        table.append(
            OnCall(
                role,
                rotation,
                [who] if who else [],
                change[0] if change else None,
                change[1] if change else None,
            )
        )
    return table


def within_reach(ctx: Ctx, field: str, *moments: datetime) -> None:
    """Rotations are planned from 1970 to five years ahead; beyond that a date is a typo (and
    past year 9999 no calendar can count)."""
    latest = ctx.now + PLANNING_HORIZON
    for moment in moments:
        if moment.tzinfo is not None and not EARLIEST <= moment <= latest:
            raise InvalidInput(field, f"give a time between 1970-01-01 and {latest:%Y-%m-%d}")


def schedule(ctx: Ctx, rotation: str, start: datetime, days: int) -> list[roster.Shift]:
    if not 1 <= days <= 366:
        raise InvalidInput("days", "give between 1 and 366 days")
    within_reach(ctx, "start", start)
    rot, overs, sw = parts(ctx, rotation)
    return roster.schedule(rot, start, start + timedelta(days=days), overs, sw)


def rotation_for_role(ctx: Ctx, role: str) -> str:
    """A rotation named directly, or the rotation of a rotating role."""
    if role in ctx.process.spec.rotations:
        return role
    rotation = ctx.process.rotation_of(role)
    if rotation is None:
        rotating = [r for r in ctx.process.spec.roles if ctx.process.rotation_of(r)]
        raise NotFound(f"{role!r} is not a rotating role; rotating roles: {', '.join(rotating)}")
    return rotation
