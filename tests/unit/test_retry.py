from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.retry import backoff


def test_doubles_from_two_seconds_without_jitter() -> None:
    delays = [backoff(n, jitter=0.5) for n in range(1, 6)]
    assert delays == [timedelta(seconds=s) for s in (2, 4, 8, 16, 32)]


def test_is_capped() -> None:
    assert backoff(40, jitter=0.5) == timedelta(minutes=10)


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    assert backoff(1, retry_after=timedelta(seconds=30)) == timedelta(seconds=30)
    assert backoff(5, jitter=0.5, retry_after=timedelta(seconds=1)) == timedelta(seconds=32)


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=0.999))
def test_jitter_stays_within_a_quarter(attempt: int, jitter: float) -> None:
    plain = backoff(attempt, jitter=0.5)
    assert plain * 0.75 <= backoff(attempt, jitter=jitter) <= plain * 1.25
