"""Who holds a rotation at time t: the rotation's turns, swaps, overrides, and DST."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.roster import (
    Override,
    Rotation,
    Swap,
    backup,
    holder,
    next_change,
    override_problems,
    schedule,
    swap_problems,
)

WEEKLY = Rotation(("vijay", "michael", "jonathan"), timedelta(weeks=1), datetime(2026, 1, 5, 9))
# Vijay covers Michael's shift on Tuesday 13 January, 09:00-17:00
COVER = Override(
    datetime(2026, 1, 13, 9, tzinfo=UTC), datetime(2026, 1, 13, 17, tzinfo=UTC), "vijay"
)
# Vijay's first week and Michael's second week trade holders
SWAP = Swap(datetime(2026, 1, 6, tzinfo=UTC), datetime(2026, 1, 14, tzinfo=UTC))
# daily 09:00 hand-offs in London (BST starts 2026-03-29) and New York (EST from 2026-11-01)
LONDON = Rotation(("ana", "ben"), timedelta(days=1), datetime(2026, 3, 27, 9), "Europe/London")
NEW_YORK = Rotation(
    ("ana", "ben"), timedelta(days=1), datetime(2026, 10, 30, 9), "America/New_York"
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("case", "rot", "at", "overrides", "swaps", "expected"),
    [
        ("first turn", WEEKLY, utc(2026, 1, 5, 9), [], [], "vijay"),
        ("last second of a turn", WEEKLY, utc(2026, 1, 12, 8, 59, 59), [], [], "vijay"),
        ("hand-off", WEEKLY, utc(2026, 1, 12, 9), [], [], "michael"),
        ("third member", WEEKLY, utc(2026, 1, 19, 9), [], [], "jonathan"),
        ("back to the first", WEEKLY, utc(2026, 1, 26, 9), [], [], "vijay"),
        ("before the anchor counts back", WEEKLY, utc(2026, 1, 5, 8, 59), [], [], "jonathan"),
        ("override covers", WEEKLY, utc(2026, 1, 13, 10), [COVER], [], "vijay"),
        ("override starts inclusive", WEEKLY, utc(2026, 1, 13, 9), [COVER], [], "vijay"),
        ("override ends exclusive", WEEKLY, utc(2026, 1, 13, 17), [COVER], [], "michael"),
        ("outside the override", WEEKLY, utc(2026, 1, 14, 10), [COVER], [], "michael"),
        ("swap: first shift", WEEKLY, utc(2026, 1, 7), [], [SWAP], "michael"),
        ("swap: second shift", WEEKLY, utc(2026, 1, 15), [], [SWAP], "vijay"),
        ("swap leaves others", WEEKLY, utc(2026, 1, 20), [], [SWAP], "jonathan"),
        (
            "override beats swap",
            WEEKLY,
            utc(2026, 1, 13, 10),
            [Override(utc(2026, 1, 13, 9), utc(2026, 1, 13, 17), "jonathan")],
            [SWAP],
            "jonathan",
        ),
        ("London before BST: 09:00 GMT", LONDON, utc(2026, 3, 28, 8, 59), [], [], "ana"),
        ("London hand-off at 09:00 GMT", LONDON, utc(2026, 3, 28, 9), [], [], "ben"),
        ("London after BST: 08:59 BST", LONDON, utc(2026, 3, 29, 7, 59), [], [], "ben"),
        ("London hand-off at 09:00 BST = 08:00 UTC", LONDON, utc(2026, 3, 29, 8), [], [], "ana"),
        ("New York 09:00 EDT = 13:00 UTC", NEW_YORK, utc(2026, 10, 31, 13), [], [], "ben"),
        ("New York after fall back: 08:59 EST", NEW_YORK, utc(2026, 11, 1, 13, 59), [], [], "ben"),
        (
            "New York hand-off at 09:00 EST = 14:00 UTC",
            NEW_YORK,
            utc(2026, 11, 1, 14),
            [],
            [],
            "ana",
        ),
    ],
)
def test_who_holds_the_rotation(
    case: str,
    rot: Rotation,
    at: datetime,
    overrides: list[Override],
    swaps: list[Swap],
    expected: str,
) -> None:
    assert holder(rot, at, overrides, swaps) == expected, case


def test_nobody_holds_an_empty_rotation() -> None:
    empty = Rotation((), timedelta(days=1), datetime(2026, 1, 1))
    assert holder(empty, utc(2026, 2, 1)) is None
    assert backup(empty, utc(2026, 2, 1)) is None


def test_the_backup_is_the_next_member_or_the_person_covered_for() -> None:
    assert backup(WEEKLY, utc(2026, 1, 6)) == "michael"
    assert backup(WEEKLY, utc(2026, 1, 20)) == "vijay"
    assert backup(WEEKLY, utc(2026, 1, 13, 10), [COVER]) == "michael"  # Vijay covers Michael
    alone = Rotation(("vijay",), timedelta(weeks=1), datetime(2026, 1, 5, 9))
    assert backup(alone, utc(2026, 1, 6)) is None


def test_the_schedule_shows_local_hand_offs_across_dst() -> None:
    shifts = schedule(LONDON, utc(2026, 3, 28), utc(2026, 3, 31))
    starts = [s.start.astimezone(ZoneInfo("Europe/London")).hour for s in shifts[1:]]
    assert starts == [9, 9, 9]
    assert [s.start for s in shifts[1:]] == [
        utc(2026, 3, 28, 9),
        utc(2026, 3, 29, 8),
        utc(2026, 3, 30, 8),
    ]


def test_the_schedule_cuts_overrides_out_of_shifts() -> None:
    shifts = schedule(WEEKLY, utc(2026, 1, 13), utc(2026, 1, 14), [COVER])
    assert [(s.start.hour, s.end.hour, s.person, s.source) for s in shifts] == [
        (0, 9, "michael", "rotation"),
        (9, 17, "vijay", "override"),
        (17, 0, "michael", "rotation"),
    ]


def test_next_change_finds_the_next_hand_off_including_overrides() -> None:
    assert next_change(WEEKLY, utc(2026, 1, 13, 8), [COVER]) == (utc(2026, 1, 13, 9), "vijay")
    assert next_change(WEEKLY, utc(2026, 1, 13, 9), [COVER]) == (utc(2026, 1, 13, 17), "michael")
    assert next_change(WEEKLY, utc(2026, 1, 13, 17)) == (utc(2026, 1, 19, 9), "jonathan")


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (Override(utc(2026, 1, 13, 9), utc(2026, 1, 13, 17), "nobody"), "'nobody' is not a person"),
        (
            Override(utc(2026, 1, 13, 17), utc(2026, 1, 13, 9), "vijay"),
            "ends (2026-01-13 09:00) before it starts",
        ),
        (Override(utc(2026, 1, 13, 16), utc(2026, 1, 13, 20), "jonathan"), "overlaps override #7"),
        (
            Override(datetime(2026, 1, 13, 16), datetime(2026, 1, 13, 20), "jonathan"),
            "timezone offset",
        ),
    ],
)
def test_senseless_overrides_are_refused_with_the_reason(new: Override, problem: str) -> None:
    existing = [Override(COVER.start, COVER.end, COVER.person, id=7)]
    problems = override_problems(WEEKLY, new, existing, ["vijay", "michael", "jonathan"])
    assert any(problem in p for p in problems), problems


def test_an_adjacent_override_is_fine() -> None:
    new = Override(COVER.end, COVER.end + timedelta(hours=2), "jonathan")
    assert override_problems(WEEKLY, new, [COVER], ["jonathan"]) == []


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (Swap(utc(2026, 1, 6), utc(2026, 1, 7)), "same shift"),
        (Swap(utc(2026, 1, 6), utc(2026, 1, 27)), "both shifts belong to vijay"),
        (Swap(utc(2026, 1, 14), utc(2026, 1, 21)), "already in swap #3"),
    ],
)
def test_senseless_swaps_are_refused(new: Swap, problem: str) -> None:
    existing = [Swap(SWAP.first, SWAP.second, id=3)]
    problems = swap_problems(WEEKLY, new, existing)
    assert any(problem in p for p in problems), problems


zones = st.sampled_from(
    ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)


@given(
    zone=zones,
    hours=st.sampled_from([8, 12, 24, 168]),
    start=instants,
    span=st.integers(min_value=1, max_value=24 * 40),
    cover=st.one_of(st.none(), st.tuples(instants, st.integers(min_value=1, max_value=300))),
)
def test_the_schedule_agrees_with_holder_everywhere(
    zone: str, hours: int, start: datetime, span: int, cover: tuple[datetime, int] | None
) -> None:
    rot = Rotation(("a", "b", "c"), timedelta(hours=hours), datetime(2026, 1, 5, 9), zone)
    overrides = [Override(cover[0], cover[0] + timedelta(hours=cover[1]), "z")] if cover else []
    end = start + timedelta(hours=span)
    shifts = schedule(rot, start, end, overrides)
    assert shifts[0].start == start and shifts[-1].end == end
    for shift, following in pairwise(shifts):
        assert shift.end == following.start
    for shift in shifts:
        assert shift.start < shift.end
        assert holder(rot, shift.start, overrides) == shift.person
        assert holder(rot, shift.end - timedelta(microseconds=1), overrides) == shift.person
