"""A fake PagerDuty Events API v2 (../shared/wire/pagerduty.md): validates events as the real
one does, keeps alerts by dedup_key, and can be told to fail."""

from __future__ import annotations

from typing import Any

from tests.fakes.http import FakeServer, Reply, Request

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"


class FakePagerDuty:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.alerts: dict[str, str] = {}  # dedup_key -> triggered | acknowledged | resolved
        self.faults: list[Reply] = []
        self.server = FakeServer(self._handle)
        self.url = f"{self.server.url}/v2/enqueue"

    def close(self) -> None:
        self.server.close()

    def actions(self) -> list[tuple[str, str]]:
        return [(e["event_action"], e.get("dedup_key", "")) for e in self.events]

    def _handle(self, request: Request) -> Reply:
        if self.faults:
            return self.faults.pop(0)
        if request.path != "/v2/enqueue" or request.method != "POST":
            return Reply(404)
        try:
            event = request.json()
        except ValueError:
            return Reply.json(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["JSON parse error"],
                },
            )
        errors = self._errors(event)
        if errors:
            return Reply.json(
                400,
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
            )
        self.events.append(event)
        key, action = event["dedup_key"], event["event_action"]
        state = self.alerts.get(key)
        if action == "trigger" and state in (None, "resolved"):
            self.alerts[key] = "triggered"
        elif action == "acknowledge" and state == "triggered":
            self.alerts[key] = "acknowledged"
        elif action == "resolve" and state in ("triggered", "acknowledged"):
            self.alerts[key] = "resolved"
        return Reply.json(
            202, {"status": "success", "message": "Event processed", "dedup_key": key}
        )

    @staticmethod
    def _errors(event: Any) -> list[str]:
        if not isinstance(event, dict):
            return ["Event object is invalid"]
        errors = []
        if len(str(event.get("routing_key", ""))) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if not event.get("dedup_key") or len(str(event.get("dedup_key"))) > 255:
            errors.append("'dedup_key' is required and at most 255 characters")
        if action == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing")
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid")
            if len(str(payload.get("summary", ""))) > 1024:
                errors.append("'payload.summary' is too long")
        return errors
