"""A token bucket: ``rate`` tokens a second, at most ``burst`` saved up; one per request.

Pure: the time (seconds on any clock that does not run backwards much) is passed in. A clock
that steps back adds nothing and takes nothing away.
"""

from __future__ import annotations

from dataclasses import dataclass

# a wait of (1 - tokens) / rate, added back, can land a hair under 1.0 in floating point
_EPSILON = 1e-9


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float
    stamp: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs a rate above 0 and a burst of at least 1")

    @classmethod
    def full(cls, rate: float, burst: int, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=float(burst), stamp=now)

    def take(self, now: float) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there will be one."""
        if now > self.stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / self.rate
