"""Slack's v0 request signature: HMAC-SHA256 over ``v0:<timestamp>:<raw body>`` with the
signing secret, and a five-minute window against replays (wire/slack.md §5)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from slack_sdk.signature import SignatureVerifier

WINDOW_SECONDS = 300


class _Clock:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def verified(
    secret: str, body: bytes, headers: Mapping[str, str], now: Callable[[], float]
) -> bool:
    """Whether ``body`` came from Slack: signed with ``secret``, at most 5 minutes from now."""
    verifier = SignatureVerifier(secret, clock=_Clock(now))
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12 or not signature:
        return False
    try:
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (UnicodeDecodeError, ValueError):
        return False


class Replays:
    """Signatures seen in the last five minutes: the same signed request sent again within
    the window is refused too (per process; outside the window the timestamp refuses it)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def first(self, signature: str, now: float) -> bool:
        """Whether ``signature`` is new (and remember it)."""
        with self._lock:
            if len(self._seen) >= self._limit:
                self._seen = {s: t for s, t in self._seen.items() if t > now}
                if len(self._seen) >= self._limit:  # a flood of valid requests: keep the newest
                    self._seen.clear()
            if self._seen.get(signature, 0) > now:
                return False
            self._seen[signature] = now + 2 * WINDOW_SECONDS
            return True
