"""Flood control at intake: one token bucket per integration, so no source can starve the rest.

Rates come from the process file (``intake.rate_limit``, with overrides by integration name).
The buckets live in this process's memory and read the services' clock: no database access on
the hot path, and tests move the clock instead of sleeping. With several server processes an
integration may post up to that many times the rate.
"""

from __future__ import annotations

import math
import threading

from fastapi.responses import JSONResponse

from escalator.api.problems import problem
from escalator.config.process_schema import IntakeRateLimit
from escalator.domain.token_bucket import TokenBucket
from escalator.engine.clock import Clock
from escalator.process.core.integrations import Caller


class FloodGate:
    def __init__(self, limits: IntakeRateLimit, clock: Clock) -> None:
        self.limits = limits
        self.clock = clock
        self._start = clock.now()  # seconds since then: small floats keep their precision
        self._buckets: dict[int, TokenBucket] = {}
        self._lock = threading.Lock()

    def refuse(self, caller: Caller) -> JSONResponse | None:
        """Take one post from ``caller``'s bucket: None if it may go on, else the 429."""
        now = (self.clock.now() - self._start).total_seconds()
        with self._lock:
            bucket = self._buckets.get(caller.id)
            if bucket is None:
                limit = self.limits.for_integration(caller.name)
                bucket = TokenBucket.full(limit.per_second, limit.burst, now)
                self._buckets[caller.id] = bucket
            wait = bucket.take(now)
        if not wait:
            return None
        retry_after = max(1, math.ceil(wait))
        response = problem(
            429,
            "Too many requests",
            f"the {caller.kind} integration {caller.name!r} posts more than "
            f"{bucket.rate:g} times a second (bursts of {bucket.burst}); nothing was stored: "
            f"send it again in {retry_after} s, or raise its limit under intake.rate_limit "
            "in the process file",
            retry_after=retry_after,
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
