"""The rollback webhook: a POST of JSON to the team's deployment system, signed with
HMAC-SHA256 of the exact body (``X-Escalator-Signature: sha256=<hex>``, with the time in
``X-Escalator-Timestamp`` signed too as ``<timestamp>.<body>``) and carrying an
``Idempotency-Key`` so the receiver can ignore a retry."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx2 as httpx

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class RollbackWebhookSender:
    per_minute = None

    def __init__(self, *, secret: str, client: httpx.Client | None = None) -> None:
        self.secret = secret
        self.client = client or httpx.Client(timeout=10)

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        body = json.dumps(message.payload.get("body", {}), sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Escalator-Timestamp": stamp,
            "X-Escalator-Signature": signature(self.secret, stamp, body),
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            response = self.client.post(message.destination, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"rollback webhook unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(f"rollback webhook answered HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise PermanentFailure(
                f"rollback webhook refused ({response.status_code}): {response.text[:300]}"
            )
        return {"status": response.status_code, "answer": response.text[:500]}
