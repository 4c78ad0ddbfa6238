import contextlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 2D ", timedelta(days=2)),
    ],
)
def test_reads_the_forms_people_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "30", "m", "30 minutes", "1.5h", "-5m", "0m", "30m1h", "1h1h", "4 h"]
)
def test_refuses_anything_else_and_says_what_to_write(text: str) -> None:
    with pytest.raises(DurationError) as err:
        parse_duration(text)
    assert "like 90s, 30m, 4h, 1d" in str(err.value) or "zero" in str(err.value)


@given(st.integers(min_value=1, max_value=10**8))
def test_format_reads_back(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@given(st.text(max_size=30))
def test_any_text_either_parses_or_raises_duration_error(text: str) -> None:
    with contextlib.suppress(DurationError):
        assert parse_duration(text) > timedelta(0)
