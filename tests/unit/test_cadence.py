"""When a customer is next owed an update: cadence, working hours, promises, ``--next``."""

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.cadence import (
    NextUpdateError,
    WorkingHours,
    add_working_time,
    next_due,
    parse_next,
    reminder_at,
)

LONDON_OFFICE = WorkingHours("Europe/London", frozenset(range(5)), time(9), time(17))
MON = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday; London is on UTC in November


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        (MON, timedelta(hours=1), MON + timedelta(hours=1)),  # inside the day
        (MON.replace(hour=16), timedelta(hours=2), MON.replace(hour=10) + timedelta(days=1)),
        (MON.replace(hour=20), timedelta(hours=1), MON.replace(hour=10) + timedelta(days=1)),
        (MON.replace(hour=6), timedelta(minutes=30), MON.replace(minute=30)),  # before opening
        # Friday 16:00 + 4h of working time: 1h on Friday, 3h on Monday
        (
            MON.replace(hour=16) + timedelta(days=4),
            timedelta(hours=4),
            MON.replace(hour=12) + timedelta(days=7),
        ),
        (MON, timedelta(days=1), MON + timedelta(days=2, hours=8)),  # 24h: to Wednesday's close
        # summer: London is UTC+1, so the office opens at 08:00 UTC
        (
            datetime(2026, 7, 6, 7, 0, tzinfo=UTC),
            timedelta(hours=1),
            datetime(2026, 7, 6, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_working_time_counts_only_while_open(
    start: datetime, amount: timedelta, due: datetime
) -> None:
    assert add_working_time(start, amount, LONDON_OFFICE) == due


def test_across_the_clock_change_the_office_still_opens_at_nine_local() -> None:
    # Friday 23 Oct 2026 16:30 BST (15:30 UTC) + 1h: 30 min Friday, 30 min Monday 26 Oct
    # at 09:00 GMT, now 09:00 UTC
    start = datetime(2026, 10, 23, 15, 30, tzinfo=UTC)
    assert add_working_time(start, timedelta(hours=1), LONDON_OFFICE) == datetime(
        2026, 10, 26, 9, 30, tzinfo=UTC
    )


def test_without_working_hours_the_clock_always_runs() -> None:
    assert add_working_time(MON, timedelta(hours=4), None) == MON + timedelta(hours=4)


@pytest.mark.parametrize(
    ("promised", "due"),
    [
        (None, MON + timedelta(hours=1)),
        (MON + timedelta(minutes=30), MON + timedelta(minutes=30)),  # sooner: the promise
        (MON + timedelta(hours=3), MON + timedelta(hours=1)),  # later: the cadence still rules
    ],
)
def test_a_promise_counts_when_it_is_sooner(promised: datetime | None, due: datetime) -> None:
    assert next_due(MON, timedelta(hours=1), promised=promised) == due


def test_the_reminder_comes_before_the_due_time_and_never_after() -> None:
    due = MON + timedelta(hours=1)
    assert reminder_at(due, timedelta(minutes=10), MON) == MON + timedelta(minutes=50)
    assert reminder_at(due, timedelta(minutes=10), MON + timedelta(minutes=55)) == MON + timedelta(
        minutes=55
    )
    assert reminder_at(due, timedelta(minutes=10), due) is None


def test_working_hours_must_end_after_they_start_and_open_some_day() -> None:
    with pytest.raises(ValueError, match="end after they start"):
        WorkingHours("UTC", frozenset({0}), time(17), time(9))
    with pytest.raises(ValueError, match="at least one day"):
        WorkingHours("UTC", frozenset(), time(9), time(17))


hours = st.builds(
    lambda days, start, length: WorkingHours(
        "Europe/London", frozenset(days), time(start), time(min(start + length, 23), 59)
    ),
    st.sets(st.integers(0, 6), min_size=1),
    st.integers(0, 20),
    st.integers(1, 10),
)
starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
amounts = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=2))


@given(starts, amounts, hours)
def test_working_time_never_comes_sooner_than_the_clock(
    start: datetime, amount: timedelta, office: WorkingHours
) -> None:
    assert add_working_time(start, amount, office) >= start + amount


@given(starts, amounts, amounts, hours)
def test_more_time_is_never_due_sooner(
    start: datetime, a: timedelta, b: timedelta, office: WorkingHours
) -> None:
    small, large = sorted((a, b))
    assert add_working_time(start, small, office) <= add_working_time(start, large, office)


@given(starts, amounts, amounts, hours)
def test_working_time_adds_up(
    start: datetime, a: timedelta, b: timedelta, office: WorkingHours
) -> None:
    """Waiting a, then b, is waiting a + b (when a ends in working hours)."""
    middle = add_working_time(start, a, office)
    assert add_working_time(middle, b, office) == add_working_time(start, a + b, office)


NOW = datetime(2026, 11, 2, 9, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "at"),
    [
        ("30m", "UTC", NOW + timedelta(minutes=30)),
        ("1h30m", "UTC", NOW + timedelta(minutes=90)),
        ("14:30", "UTC", datetime(2026, 11, 2, 14, 30, tzinfo=UTC)),
        ("09:00", "UTC", datetime(2026, 11, 3, 9, 0, tzinfo=UTC)),  # passed today: tomorrow
        ("16:00", "Asia/Kolkata", datetime(2026, 11, 2, 10, 30, tzinfo=UTC)),
        ("2026-11-02T14:30Z", "UTC", datetime(2026, 11, 2, 14, 30, tzinfo=UTC)),
        ("2026-11-02T14:30+01:00", "UTC", datetime(2026, 11, 2, 13, 30, tzinfo=UTC)),
        ("2026-11-02 18:00", "UTC", datetime(2026, 11, 2, 18, 0, tzinfo=UTC)),
    ],
)
def test_next_reads_durations_times_and_dates(text: str, zone: str, at: datetime) -> None:
    assert parse_next(text, NOW, zone) == at


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("soon", "is not a time"),
        ("0m", "zero"),
        ("25:00", "not a time of day"),
        ("2026-11-01T10:00Z", "has passed"),
        ("1.5h", "is not a time"),
    ],
)
def test_next_refuses_the_rest_and_says_what_to_write(text: str, why: str) -> None:
    with pytest.raises(NextUpdateError, match=why) as err:
        parse_next(text, NOW)
    assert "30m" in str(err.value) or why in ("zero", "has passed")


@given(st.text(max_size=30))
def test_next_never_crashes_and_is_never_in_the_past(text: str) -> None:
    try:
        at = parse_next(text, NOW)
    except NextUpdateError:
        return
    assert at > NOW
