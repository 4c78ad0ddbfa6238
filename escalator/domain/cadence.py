"""When a customer is next owed an update.

The cadence of the incident's severity runs from the last update the customer was sent (or
from when the clock started), counted only in the account's working hours when it keeps
them; an update's promise ("next update in 30 minutes") is the due time when it is sooner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from escalator.domain.durations import DurationError, parse_duration

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONGEST = 3700  # calendar days walked at most looking for enough working time


@dataclass(frozen=True)
class WorkingHours:
    """Open from ``start`` to ``end`` local time in ``timezone`` on ``days`` (0 is Monday)."""

    timezone: str
    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("working hours need at least one day, 0 (Monday) to 6 (Sunday)")
        if self.end <= self.start:
            raise ValueError("working hours must end after they start")

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's open hours in UTC, or None when closed that day."""
        if day.weekday() not in self.days:
            return None
        zone = ZoneInfo(self.timezone)
        opens = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return opens, closes


def add_working_time(start: datetime, amount: timedelta, hours: WorkingHours | None) -> datetime:
    """``start`` plus ``amount`` of time counted only while open (``hours`` None: always)."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    if hours is None:
        return start + amount
    left = amount
    cursor = start.astimezone(UTC)
    day = start.astimezone(ZoneInfo(hours.timezone)).date() - timedelta(days=1)
    for _ in range(_LONGEST):
        window = hours.window(day)
        day += timedelta(days=1)
        if window is None:
            continue
        opens, closes = window
        begin = max(cursor, opens)
        if begin >= closes:
            continue
        room = closes - begin
        if left <= room:
            return begin + left
        left -= room
        cursor = closes
    raise ValueError(f"{amount} of working time does not fit in {_LONGEST} days")


def next_due(
    since: datetime,
    cadence: timedelta,
    *,
    promised: datetime | None = None,
    hours: WorkingHours | None = None,
) -> datetime:
    """When the next update is due: the cadence after ``since``, or the promise if sooner."""
    due = add_working_time(since, cadence, hours)
    return min(due, promised) if promised is not None else due


def reminder_at(due: datetime, before: timedelta, now: datetime) -> datetime | None:
    """When to remind second tier of ``due``: ``before`` it, or now if that has passed;
    None once the update is due (the overdue notice says it then)."""
    if due <= now:
        return None
    return max(due - before, now)


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
NEXT_HINT = (
    "write how long until the next update (30m, 1h, 2h30m), a time today (14:30) or a date "
    "and time (2026-11-02T14:30Z)"
)


class NextUpdateError(ValueError):
    """A next-update time that cannot be read, or is not in the future."""


def parse_next(text: str, now: datetime, timezone: str = "UTC") -> datetime:
    """``--next``: a duration from now, a wall-clock time today (tomorrow if it has passed)
    in ``timezone``, or an ISO 8601 date and time (UTC when it names no offset)."""
    value = text.strip()
    if not value:
        raise NextUpdateError(f"empty: {NEXT_HINT}")
    zone = ZoneInfo(timezone)
    with_duration = _as_duration(value)
    if with_duration is not None:
        return now + with_duration
    clock = _CLOCK.match(value)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise NextUpdateError(f"{text!r} is not a time of day: {NEXT_HINT}")
        local = now.astimezone(zone)
        at = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
        if at <= now:
            at = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), zone)
        return at.astimezone(UTC)
    try:
        at = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise NextUpdateError(f"{text!r} is not a time: {NEXT_HINT}") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at <= now:
        raise NextUpdateError(f"{text!r} has passed: the next update must be in the future")
    return at.astimezone(UTC)


def _as_duration(value: str) -> timedelta | None:
    if not value[0].isdigit() or ":" in value or "-" in value:
        return None
    try:
        return parse_duration(value)
    except DurationError as exc:
        if re.fullmatch(r"[\dwdhms ]+", value.lower()):
            raise NextUpdateError(str(exc)) from exc
        return None
