"""Per-destination token buckets, so a burst does not trip a peer's rate limit.

Kept in each worker's memory: with N workers a destination may see up to N times the rate,
which the peers' own 429 + Retry-After handling then absorbs.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, datetime]] = {}

    def take(self, key: tuple[str, str], per_minute: int | None, now: datetime) -> timedelta:
        """Take one token; returns zero if allowed now, else how long until one is free."""
        if not per_minute:
            return timedelta(0)
        rate = per_minute / 60.0  # tokens a second; the bucket holds a minute's worth
        tokens, stamp = self._buckets.get(key, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - stamp).total_seconds() * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return timedelta(0)
        self._buckets[key] = (tokens, now)
        return timedelta(seconds=(1.0 - tokens) / rate)
