"""Rotation arithmetic: who holds a rotating role at a time, with overrides and swaps.

A rotation hands over every ``shift`` at the hand-off's wall-clock time in its own
timezone, so a weekly 09:00 Europe/London hand-off stays at 09:00 local across daylight
saving changes (the UTC instant moves by an hour instead). Shift ``n`` starts at
``anchor + n * shift`` in local wall-clock time; members take turns in order, and times
before the anchor count backwards.

Precedence, highest first: an override ("Vijay covers 09:00-17:00 Tuesday"), then a swap
(two shifts trade holders), then the rotation's own order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Rotation:
    members: tuple[str, ...]
    shift: timedelta
    anchor: datetime  # naive: the first hand-off in local wall-clock time
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Override:
    start: datetime  # aware
    end: datetime  # aware, after start
    person: str
    id: int | None = None


@dataclass(frozen=True)
class Swap:
    """The holders of the shift around ``first`` and the shift around ``second`` trade."""

    first: datetime
    second: datetime
    id: int | None = None


@dataclass(frozen=True)
class Shift:
    start: datetime  # aware, UTC
    end: datetime
    person: str | None
    source: str  # rotation | swap | override


def _local(rot: Rotation, at: datetime) -> datetime:
    return at.astimezone(rot.tz).replace(tzinfo=None)


def shift_index(rot: Rotation, at: datetime) -> int:
    """Which shift ``at`` falls in (0 is the one starting at the anchor)."""
    return (_local(rot, at) - rot.anchor) // rot.shift


def shift_start(rot: Rotation, n: int) -> datetime:
    """When shift ``n`` begins, in UTC."""
    local = rot.anchor + n * rot.shift
    return local.replace(tzinfo=rot.tz).astimezone(ZoneInfo("UTC"))


def natural_holder(rot: Rotation, n: int) -> str | None:
    if not rot.members:
        return None
    return rot.members[n % len(rot.members)]


def _swapped_holder(rot: Rotation, n: int, swaps: Iterable[Swap]) -> tuple[str | None, bool]:
    for swap in swaps:
        a, b = shift_index(rot, swap.first), shift_index(rot, swap.second)
        if n == a:
            return natural_holder(rot, b), True
        if n == b:
            return natural_holder(rot, a), True
    return natural_holder(rot, n), False


def holder(
    rot: Rotation,
    at: datetime,
    overrides: Iterable[Override] = (),
    swaps: Iterable[Swap] = (),
) -> str | None:
    """Who holds the rotation at ``at``: an override covering it, else the (swapped) turn."""
    for override in overrides:
        if override.start <= at < override.end:
            return override.person
    return _swapped_holder(rot, shift_index(rot, at), swaps)[0]


def backup(
    rot: Rotation,
    at: datetime,
    overrides: Iterable[Override] = (),
    swaps: Iterable[Swap] = (),
) -> str | None:
    """Who is paged when the holder does not answer: the person whose turn it would have
    been when someone covers, otherwise the next member in order; None if nobody else."""
    overrides, swaps = list(overrides), list(swaps)
    now = holder(rot, at, overrides, swaps)
    turn = _swapped_holder(rot, shift_index(rot, at), swaps)[0]
    if turn is not None and turn != now:
        return turn
    if now not in rot.members or len(set(rot.members)) < 2:
        return None
    i = rot.members.index(now)
    for step in range(1, len(rot.members)):
        candidate = rot.members[(i + step) % len(rot.members)]
        if candidate != now:
            return candidate
    return None


def schedule(
    rot: Rotation,
    start: datetime,
    end: datetime,
    overrides: Sequence[Override] = (),
    swaps: Sequence[Swap] = (),
) -> list[Shift]:
    """Every stretch of time in [start, end) with who holds the rotation, in order; adjacent
    stretches with the same holder and source are merged."""
    cuts = {start, end}
    n = shift_index(rot, start)
    while (boundary := shift_start(rot, n + 1)) < end:
        cuts.add(boundary)
        n += 1
    for o in overrides:
        cuts.update(t for t in (o.start, o.end) if start < t < end)
    points = sorted(cuts)
    shifts: list[Shift] = []
    for a, b in pairwise(points):
        covering = next((o for o in overrides if o.start <= a < o.end), None)
        person: str | None
        if covering is not None:
            person, source = covering.person, "override"
        else:
            person, swapped = _swapped_holder(rot, shift_index(rot, a), swaps)
            source = "swap" if swapped else "rotation"
        last = shifts[-1] if shifts else None
        if last and last.person == person and last.source == source and last.end == a:
            shifts[-1] = Shift(last.start, b, person, source)
        else:
            shifts.append(Shift(a, b, person, source))
    return shifts


def next_change(
    rot: Rotation,
    after: datetime,
    overrides: Sequence[Override] = (),
    swaps: Sequence[Swap] = (),
) -> tuple[datetime, str | None] | None:
    """The first moment after ``after`` at which the holder changes, and who takes over."""
    current = holder(rot, after, overrides, swaps)
    horizon = after + rot.shift * (len(rot.members) + 1) + timedelta(days=1)
    for o in overrides:
        horizon = max(horizon, o.end + timedelta(seconds=1))
    for shift in schedule(rot, after, horizon, overrides, swaps):
        if shift.start > after and shift.person != current:
            return shift.start, shift.person
    return None


# -- checking edits ----------------------------------------------------------------------


def override_problems(
    rot: Rotation, new: Override, existing: Iterable[Override], people: Iterable[str]
) -> list[str]:
    """Why ``new`` cannot be added (empty if it can)."""
    problems = []
    known = set(people)
    if new.person not in known:
        problems.append(f"{new.person!r} is not a person in the process file")
    if new.start.tzinfo is None or new.end.tzinfo is None:
        problems.append("give start and end with a timezone offset, e.g. 2026-12-01T09:00+00:00")
    elif new.end <= new.start:
        problems.append(f"the override ends ({new.end:%Y-%m-%d %H:%M}) before it starts")
    else:
        for other in existing:
            if other.start < new.end and new.start < other.end:
                problems.append(
                    f"it overlaps override #{other.id} ({other.person}, "
                    f"{other.start:%Y-%m-%d %H:%M} to {other.end:%Y-%m-%d %H:%M} UTC): "
                    "remove that one first or pick another slot"
                )
    return problems


def swap_problems(rot: Rotation, new: Swap, existing: Iterable[Swap]) -> list[str]:
    """Why ``new`` cannot be made (empty if it can)."""
    if new.first.tzinfo is None or new.second.tzinfo is None:
        return ["give both shifts' times with a timezone offset"]
    a, b = shift_index(rot, new.first), shift_index(rot, new.second)
    if a == b:
        return ["both times fall in the same shift: name two different shifts"]
    if natural_holder(rot, a) == natural_holder(rot, b):
        return [f"both shifts belong to {natural_holder(rot, a)}: nothing to swap"]
    for other in existing:
        taken = {shift_index(rot, other.first), shift_index(rot, other.second)}
        if a in taken or b in taken:
            return [f"one of these shifts is already in swap #{other.id}: remove it first"]
    return []
