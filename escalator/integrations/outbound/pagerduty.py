"""PagerDuty Events API v2. The routing key is looked up at send time, never stored in a row.

The official client retries 429 without limit and accepts only HTTPS base URLs, so the
outbox's own retry policy drives a plain HTTP client instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2 as httpx

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutySender:
    per_minute = 120  # PagerDuty's limit per integration key

    def __init__(
        self,
        *,
        url: str,
        routing_key_for: Callable[[str], str | None],
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.routing_key_for = routing_key_for
        self.client = client or httpx.Client(timeout=10)

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        key = self.routing_key_for(message.destination)
        if not key:
            raise PermanentFailure(f"no PagerDuty routing key for service {message.destination!r}")
        body = {**message.payload, "routing_key": key}
        try:
            response = self.client.post(self.url, json=body)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"pagerduty unreachable: {exc}") from exc
        if response.status_code in (200, 201, 202):
            data = _json(response)
            return {"dedup_key": data.get("dedup_key", body.get("dedup_key"))}
        if response.status_code == 429:
            after = response.headers.get("retry-after", "")
            wait = timedelta(seconds=int(after)) if after.isdigit() else None
            raise TemporaryFailure("pagerduty rate limited (429)", wait)
        if response.status_code >= 500:
            raise TemporaryFailure(f"pagerduty answered HTTP {response.status_code}")
        errors = _json(response).get("errors") or response.text[:300]
        raise PermanentFailure(f"pagerduty rejected the event ({response.status_code}): {errors}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
