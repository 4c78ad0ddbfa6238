"""A GET that must succeed once: confirming an SNS subscription by visiting its SubscribeURL."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure


class HttpGetSender:
    """GETs ``payload["url"]``; the use case enqueues only URLs it has checked."""

    per_minute = None

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=10)

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        try:
            response = self.client.get(message.payload["url"])
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise TemporaryFailure(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"HTTP {response.status_code}: {response.text[:200]}")
        return {"status": response.status_code}
