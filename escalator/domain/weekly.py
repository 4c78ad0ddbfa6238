"""Weeks and the weekly review's arithmetic: ISO weeks (``2026-W48``) and their bounds in a
timezone, the next review at a local wall-clock time, the figures of the weekly report
(medians, shares within a clock, week over week), and the two findings no peer gives: alarms
nobody acted on (noise) and customers who told us first (detection gaps).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


class WeekError(ValueError):
    """Text that is not an ISO week; the message says what to write."""


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def previous(self) -> Week:
        return week_of(self.monday - timedelta(days=7))

    def bounds(self, timezone: str = "UTC") -> tuple[datetime, datetime]:
        """Monday 00:00 to the next Monday 00:00, local time in ``timezone``, as UTC."""
        tz = ZoneInfo(timezone)
        start = datetime.combine(self.monday, time(0), tzinfo=tz)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)


def week_of(day: date) -> Week:
    year, number, _ = day.isocalendar()
    return Week(year, number)


def week_at(at: datetime, timezone: str = "UTC") -> Week:
    """The ISO week ``at`` falls in, on the calendar of ``timezone``."""
    return week_of(at.astimezone(ZoneInfo(timezone)).date())


def parse_week(text: str) -> Week:
    found = _WEEK.match(text.strip())
    if not found:
        raise WeekError(f"{text!r} is not a week: write an ISO week like 2026-W48")
    year, number = int(found.group(1)), int(found.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise WeekError(f"{year} has no week {number}: ISO years have 52 or 53 weeks") from exc
    return Week(year, number)


def next_weekly(after: datetime, weekday: int, at: time, timezone: str) -> datetime:
    """The first ``weekday`` (0 is Monday) at local wall-clock ``at`` in ``timezone`` strictly
    after ``after``, in UTC. Wall-clock: a 15:00 review stays at 15:00 across daylight saving
    (a time that does not exist that day is read with the offset before the change)."""
    tz = ZoneInfo(timezone)
    local = after.astimezone(tz)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    while True:
        candidate = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if candidate > after:
            return candidate
        day += timedelta(days=7)


# -- figures -----------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < p <= 100), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` as a fraction, or None when there is nothing to share."""
    return part / whole if whole else None


def change(this: float | None, last: float | None) -> float | None:
    """Week over week: this week's figure less last week's (None when either is missing)."""
    if this is None or last is None:
        return None
    return this - last


# -- findings ----------------------------------------------------------------------------


def untouched(actors: Iterable[str], people: Iterable[str]) -> bool:
    """Noise: nobody of the process did anything on the incident (only the engine, alert
    sources and integrations wrote its timeline)."""
    team = set(people)
    return not any(actor in team for actor in actors)


Span = tuple[datetime, datetime | None]  # an alarm incident: opened, resolved (None: still open)


def told_first(reported_at: datetime, alarms: Iterable[Span], window: timedelta) -> bool:
    """A detection gap: no alarm on the service was open at any time in the ``window``
    before the customer's report (an alarm that came only afterwards does not count)."""
    since = reported_at - window
    return not any(
        opened <= reported_at and (resolved is None or resolved >= since)
        for opened, resolved in alarms
    )
