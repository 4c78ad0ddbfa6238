"""The Engineering Council's rules, pure: the kinds of decision, when "the next day" is, how
many approvals a decision still needs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from escalator.domain.cadence import DAYS

KINDS: dict[str, str] = {
    "gather_info": "gather more information",
    "allocate_short_term": "allocate engineers for the next working day",
    "allocate_long_term": "allocate engineers in a sprint",
    "rollback_flag": "roll back a customer beta flag",
    "rollback_release": "roll back a release",
}
ROLLBACKS = frozenset({"rollback_flag", "rollback_release"})


def next_working_day_end(
    now: datetime, *, timezone: str, working_days: Iterable[str], end_of_day: time
) -> datetime:
    """End of the next working day after ``now``'s local day (wall-clock ``end_of_day`` in
    ``timezone``), in UTC."""
    zone = ZoneInfo(timezone)
    days = {DAYS.index(d) for d in working_days}
    if not days:
        raise ValueError("at least one working day is needed")
    day = now.astimezone(zone).date()
    for _ in range(7):
        day += timedelta(days=1)
        if day.weekday() in days:
            return datetime.combine(day, end_of_day, tzinfo=zone).astimezone(UTC)
    raise AssertionError("unreachable: a week holds every weekday")


def approvals_missing(needed: int, decided_by: str, approvers: Iterable[str]) -> int:
    """How many further members must still approve (the decider never counts)."""
    others = {a for a in approvers if a != decided_by}
    return max(0, needed - len(others))
