"""Slack's v0 request signature: HMAC-SHA256 over ``v0:<timestamp>:<raw body>`` with the
signing secret, and a five-minute window against replays (wire/slack.md §5)."""

from __future__ import annotations

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
    if not timestamp.isdigit() or len(timestamp) > 12 or not signature:
        return False
    try:
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (UnicodeDecodeError, ValueError):
        return False
