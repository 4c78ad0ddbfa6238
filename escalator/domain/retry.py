"""When to try a failed delivery again: exponential backoff with jitter, capped."""

from __future__ import annotations

from datetime import timedelta


def backoff(
    attempt: int,
    *,
    base: timedelta = timedelta(seconds=2),
    cap: timedelta = timedelta(minutes=10),
    jitter: float = 0.0,
    retry_after: timedelta | None = None,
) -> timedelta:
    """Delay before try ``attempt + 1`` after ``attempt`` failures (``attempt`` >= 1).

    ``jitter`` is a random draw in [0, 1) made by the caller (``random.random()``); it scales
    the delay by 0.75 + jitter/2, spreading retries ±25% so that senders do not move in step.
    A server's ``Retry-After`` is a floor: we never come back sooner than it asked.
    """
    if attempt < 1:
        raise ValueError("attempt counts failures and starts at 1")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter is a fraction in [0, 1)")
    exponent = min(attempt - 1, 30)
    delay: timedelta = min(base * (2**exponent), cap)
    delay = delay * (0.75 + jitter / 2)
    if retry_after is not None and retry_after > delay:
        return retry_after
    return delay
