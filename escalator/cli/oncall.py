"""``escalator oncall …``: who is on call, schedules, overrides, swaps, calendar feeds."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.table import Table

from escalator.api.oncall import OnCallOut, ShiftOut
from escalator.cli.common import AsJson, AsPerson, acting, fail, out, reading, services
from escalator.domain.durations import format_duration
from escalator.process.core import people
from escalator.process.core.context import Ctx
from escalator.process.escalate import calendar, rotations

oncall_app = typer.Typer(help="Who is on call, rotation schedules, overrides and swaps.")

When = Annotated[
    str,
    typer.Option(help="ISO date and time; without an offset it is read in the rotation's timezone"),
]


def _at(ctx: Ctx, rotation: str, value: str) -> datetime:
    spec, _ = people.definition(ctx, rotation)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a date and time: write e.g. 2026-12-01T09:00 or …T09:00+01:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(spec.timezone))


@oncall_app.command("now")
def now(as_json: AsJson = False) -> None:
    """Who holds every role now, and when each rotation hands over next."""
    svc = services()
    with reading(svc) as ctx:
        rows = [OnCallOut(**vars(r)) for r in people.now(ctx)]
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("role", "held by", "until", "then")
    for r in rows:
        until = r.until.strftime("%a %d %b %H:%M UTC") if r.until else ""
        table.add_row(r.role, ", ".join(r.people) or "nobody", until, r.next_person or "")
    out.print(table)


@oncall_app.command("schedule")
def schedule(
    role: Annotated[
        str, typer.Argument(help="A rotating role (on_call_engineer, sme) or a rotation")
    ],
    days: Annotated[int, typer.Option(min=1, max=366)] = 14,
    as_json: AsJson = False,
) -> None:
    """Who holds a rotating role over the coming days, overrides and swaps included."""
    svc = services()
    with reading(svc) as ctx:
        rotation = people.rotation_for_role(ctx, role)
        shifts = [ShiftOut.of(s) for s in people.schedule(ctx, rotation, ctx.now, days)]
    if as_json:
        print(json.dumps([s.model_dump(mode="json") for s in shifts], indent=2))
        return
    table = Table("from (UTC)", "to (UTC)", "who", "by", title=f"{rotation}, next {days} days")
    for s in shifts:
        by = "" if s.source == "rotation" else s.source
        table.add_row(
            f"{s.start:%a %d %b %H:%M}", f"{s.end:%a %d %b %H:%M}", s.person or "nobody", by
        )
    out.print(table)


@oncall_app.command("override")
def override(
    rotation: str,
    person: AsPerson,
    who: Annotated[str, typer.Option("--person", help="Who covers")],
    start: When,
    end: When,
    note: str = "",
) -> None:
    """Someone covers a rotation for a while (Engineering Manager only)."""
    svc = services()
    with acting(svc, person) as ctx:
        row = rotations.add_override(
            ctx,
            rotation,
            person=who,
            start=_at(ctx, rotation, start),
            end=_at(ctx, rotation, end),
            note=note,
        )
        span = f"{row.start:%Y-%m-%d %H:%M} → {row.end:%Y-%m-%d %H:%M} UTC"
    out.print(f"override #{row.id}: {who} covers {rotation} {span}", highlight=False)


@oncall_app.command("remove-override")
def remove_override(rotation: str, override_id: int, person: AsPerson) -> None:
    """Take an override back (Engineering Manager only)."""
    with acting(services(), person) as ctx:
        rotations.remove_override(ctx, rotation, override_id)
    out.print(f"override #{override_id} removed")


@oncall_app.command("swap")
def swap(rotation: str, person: AsPerson, first: When, second: When, note: str = "") -> None:
    """The shifts around two moments trade holders (Engineering Manager only)."""
    svc = services()
    with acting(svc, person) as ctx:
        row = rotations.add_swap(
            ctx,
            rotation,
            first=_at(ctx, rotation, first),
            second=_at(ctx, rotation, second),
            note=note,
        )
    out.print(f"swap #{row.id} made")


@oncall_app.command("remove-swap")
def remove_swap(rotation: str, swap_id: int, person: AsPerson) -> None:
    """Undo a swap (Engineering Manager only)."""
    with acting(services(), person) as ctx:
        rotations.remove_swap(ctx, rotation, swap_id)
    out.print(f"swap #{swap_id} removed")


@oncall_app.command("feeds")
def feeds(person: AsPerson) -> None:
    """Private iCalendar links: each rotation's and your own."""
    svc = services()
    with acting(svc, person) as ctx:
        for rotation in ctx.process.spec.rotations:
            out.print(
                f"{rotation}: {calendar.feed_url(ctx.links, 'rotation', rotation)}", highlight=False
            )
        out.print(f"{person}: {calendar.feed_url(ctx.links, 'person', person)}", highlight=False)


@oncall_app.command("set")
def set_rotation(
    rotation: str,
    person: AsPerson,
    members: Annotated[
        str | None, typer.Option(help="Comma-separated people, in turn order")
    ] = None,
    shift: Annotated[str | None, typer.Option(help="e.g. 1w, 1d, 12h")] = None,
    start: Annotated[str | None, typer.Option(help="The first shift's date, 2026-01-05")] = None,
    handoff: Annotated[str | None, typer.Option(help="Hand-off time, 09:00")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name, e.g. Europe/London")] = None,
) -> None:
    """Change a rotation's members, shift, start, hand-off or timezone (Engineering Manager
    only); what you leave out stays as it is."""
    svc = services()
    with acting(svc, person) as ctx:
        changes = {
            "members": [m.strip() for m in members.split(",") if m.strip()] if members else None,
            "shift": shift or None,
            "start": start or None,
            "handoff": handoff or None,
            "timezone": timezone or None,
        }
        try:
            spec = rotations.revised(ctx, rotation, changes)
        except ValidationError as exc:
            fail("; ".join(f"--{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
        rotations.edit_rotation(ctx, rotation, spec)
    out.print(
        f"{rotation}: {', '.join(spec.members)}, {format_duration(spec.shift)} shifts from "
        f"{spec.start} handing over at {spec.handoff:%H:%M} {spec.timezone}",
        highlight=False,
    )


@oncall_app.command("reset")
def reset_rotation(rotation: str, person: AsPerson) -> None:
    """Back to the process file's definition of a rotation (Engineering Manager only)."""
    with acting(services(), person) as ctx:
        rotations.reset_rotation(ctx, rotation)
    out.print(f"{rotation}: back to the process file's definition")
