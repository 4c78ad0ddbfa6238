import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.token_bucket import TokenBucket


def test_a_full_bucket_lets_a_burst_through_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)
    assert bucket.take(100.25) == pytest.approx(0.25)
    assert bucket.take(100.5) == 0.0


def test_a_clock_stepping_back_gives_nothing_and_takes_nothing() -> None:
    bucket = TokenBucket.full(rate=1.0, burst=1, now=100.0)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(40.0) == pytest.approx(1.0)
    assert bucket.take(101.0) == 0.0, "the step back did not cost the next second's token"


def test_a_bucket_that_could_never_let_anything_through_is_refused() -> None:
    with pytest.raises(ValueError, match="rate above 0"):
        TokenBucket.full(rate=0.0, burst=5, now=0.0)
    with pytest.raises(ValueError, match="burst of at least 1"):
        TokenBucket.full(rate=1.0, burst=0, now=0.0)


rates = st.floats(min_value=0.01, max_value=1000, allow_nan=False)
bursts = st.integers(min_value=1, max_value=500)
steps = st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), max_size=300)


@given(rates, bursts, steps)
def test_never_more_than_the_burst_plus_the_rate_over_the_time_passed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket.full(rate, burst, now=0.0)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        admitted += bucket.take(now) == 0.0
        assert admitted <= burst + rate * now + 1e-6
        assert 0.0 <= bucket.tokens <= burst


@given(rates, bursts, steps)
def test_waiting_as_long_as_it_says_is_always_enough(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket.full(rate, burst, now=0.0)
    now = 0.0
    for gap in gaps:
        now += gap
        wait = bucket.take(now)
        if wait:
            assert 0.0 < wait <= 1.0 / rate + 1e-9
            now += wait
            assert bucket.take(now) == 0.0
