"""Weeks, the weekly review's wall-clock time, the report's figures and its two findings."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.weekly import (
    Week,
    WeekError,
    change,
    median,
    next_weekly,
    parse_week,
    percentile,
    share,
    told_first,
    untouched,
    week_at,
    week_of,
)

FRIDAY = 4


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "week"),
    [("2026-W48", Week(2026, 48)), ("2026W01", Week(2026, 1)), ("2020-w53", Week(2020, 53))],
)
def test_weeks_are_read_as_iso_weeks(text: str, week: Week) -> None:
    assert parse_week(text) == week


@pytest.mark.parametrize(
    ("text", "says"),
    [("2026-48", "ISO week like 2026-W48"), ("2027-W53", "2027 has no week 53"), ("", "ISO week")],
)
def test_a_bad_week_says_what_to_write(text: str, says: str) -> None:
    with pytest.raises(WeekError, match=says):
        parse_week(text)


def test_a_week_runs_monday_to_monday_in_the_reviews_timezone() -> None:
    week = Week(2026, 45)
    assert week.monday == date(2026, 11, 2)
    assert week.bounds() == (utc(2026, 11, 2), utc(2026, 11, 9))
    assert week.bounds("Asia/Kolkata") == (utc(2026, 11, 1, 18, 30), utc(2026, 11, 8, 18, 30))
    assert str(week.previous) == "2026-W44" and str(Week(2026, 1).previous) == "2025-W52"
    assert week_at(utc(2026, 11, 8, 20), "Asia/Kolkata") == Week(2026, 46)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 1, 1)))
def test_a_day_is_within_its_week_and_the_week_reads_back(day: date) -> None:
    week = week_of(day)
    assert parse_week(str(week)) == week
    assert week.monday <= day < week.monday + timedelta(days=7)
    assert week.previous.monday == week.monday - timedelta(days=7)


@pytest.mark.parametrize(
    ("after", "timezone", "expected"),
    [
        (utc(2026, 11, 2, 9), "UTC", utc(2026, 11, 6, 15)),
        (utc(2026, 11, 6, 15), "UTC", utc(2026, 11, 13, 15)),  # strictly after
        (utc(2026, 11, 6, 14, 59), "UTC", utc(2026, 11, 6, 15)),
        # London: BST ends Sunday 25 October 2026; 15:00 local stays 15:00
        (utc(2026, 10, 19), "Europe/London", utc(2026, 10, 23, 14)),
        (utc(2026, 10, 24), "Europe/London", utc(2026, 10, 30, 15)),
        # New York: EDT starts Sunday 8 March 2026
        (utc(2026, 3, 1), "America/New_York", utc(2026, 3, 6, 20)),
        (utc(2026, 3, 7), "America/New_York", utc(2026, 3, 13, 19)),
    ],
)
def test_the_review_keeps_its_local_wall_clock_time_across_daylight_saving(
    after: datetime, timezone: str, expected: datetime
) -> None:
    assert next_weekly(after, FRIDAY, time(15), timezone) == expected


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=0, max_value=6),
    st.times(),
    st.sampled_from(
        ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
    ),
)
def test_the_next_review_is_within_a_week_on_its_weekday(
    naive: datetime, weekday: int, at: time, timezone: str
) -> None:
    after = naive.replace(tzinfo=UTC)
    found = next_weekly(after, weekday, at, timezone)
    assert after < found <= after + timedelta(days=7, hours=3)
    local = found.astimezone(ZoneInfo(timezone))
    assert local.weekday() == weekday


def test_figures() -> None:
    assert median([]) is None and percentile([], 90) is None
    assert median([5, 1, 3]) == 3 and median([4, 1, 3, 2]) == 2.5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile([7], 90) == 7
    assert share(3, 4) == 0.75 and share(0, 0) is None
    assert change(5, 3) == 2 and change(None, 3) is None


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1), st.floats(1, 100))
def test_a_percentile_is_one_of_the_values_and_grows_with_p(values: list[float], p: float) -> None:
    found = percentile(values, p)
    assert found in values
    assert found <= percentile(values, 100) == max(values)
    assert min(values) <= median(values) <= max(values)  # type: ignore[operator]


def test_noise_is_an_incident_only_the_engine_and_sources_touched() -> None:
    team = ["santhosh", "dinesh"]
    assert untouched(["alertmanager:prod", "system", "system"], team)
    assert not untouched(["alertmanager:prod", "system", "santhosh"], team)


def test_a_customer_told_us_first_when_no_alarm_on_the_service_was_open_just_before() -> None:
    report = utc(2026, 11, 4, 12)
    hour = timedelta(hours=1)
    assert told_first(report, [], hour)
    assert told_first(report, [(utc(2026, 11, 4, 12, 5), None)], hour)  # came afterwards
    assert told_first(report, [(utc(2026, 11, 4, 9), utc(2026, 11, 4, 10))], hour)  # over by then
    assert not told_first(report, [(utc(2026, 11, 4, 11, 30), None)], hour)
    assert not told_first(report, [(utc(2026, 11, 4, 9), utc(2026, 11, 4, 11, 15))], hour)
