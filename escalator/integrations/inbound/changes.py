"""Change events: PagerDuty's Change Events v2 body as CI/CD tools send it (GitHub Action,
Ansible, the official clients), and Unleash's feature-environment webhook events. Each
becomes a :class:`ChangeIn`; anything else is a :class:`PayloadError` naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from escalator.domain.text import first_flaw
from escalator.integrations.inbound.common import PayloadError

UNLEASH_TYPES = {
    "feature-environment-enabled": "enabled",
    "feature-environment-disabled": "disabled",
}
MAX_SUMMARY = 1024
_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


@dataclass(frozen=True)
class ChangeIn:
    summary: str
    at: datetime | None  # None: when it arrived
    service: str | None
    source: str
    links: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise PayloadError(name, "is required")
        return None
    if not isinstance(value, str):
        raise PayloadError(name, "must be a string")
    if first_flaw(value):
        raise PayloadError(name, "holds characters that cannot be stored (NUL, lone surrogate)")
    value = value.strip()
    if required and not value:
        raise PayloadError(name, "is required")
    if len(value) > limit:
        raise PayloadError(name, f"is longer than {limit} characters")
    return value or None


def parse_time(value: Any, name: str = "payload.timestamp") -> datetime | None:
    """ISO 8601 as the senders write it: ``Z``, ``+0000`` or ``+00:00``, 0-6 fraction digits;
    no offset means UTC (python-pagerduty's ``utcnow().isoformat()``)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise PayloadError(name, "must be an ISO 8601 time like 2020-07-17T08:42:58.315+0000")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = _OFFSET.sub(r"\1:\2", text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PayloadError(
            name, "must be an ISO 8601 time like 2020-07-17T08:42:58.315+0000"
        ) from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if not 1970 <= at.year <= 2199:
        raise PayloadError(name, "is not a plausible time")
    return at.astimezone(UTC)


def _links(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError("links", "must be a list of {href, text}")
    out = []
    for i, link in enumerate(value[:20]):
        if not isinstance(link, dict):
            raise PayloadError(f"links[{i}]", "must be an object with href")
        href = _text(link.get("href"), f"links[{i}].href", 2000, required=True)
        text = _text(link.get("text"), f"links[{i}].text", 500) or ""
        assert href is not None
        if not href.startswith(("http://", "https://")):
            raise PayloadError(f"links[{i}].href", "must be an http(s) address")
        out.append({"href": href, "text": text})
    return out


def parse(body: Any) -> ChangeIn:
    """A PagerDuty change event or an Unleash feature-environment event."""
    if not isinstance(body, dict):
        raise PayloadError("body", "must be a JSON object: a PagerDuty change event")
    if isinstance(body.get("type"), str) and "featureName" in body:
        return parse_unleash(body)
    return parse_pagerduty(body)


def parse_pagerduty(body: dict[str, Any]) -> ChangeIn:
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise PayloadError("payload", "is required: {summary, source?, timestamp?}")
    summary = _text(payload.get("summary"), "payload.summary", MAX_SUMMARY, required=True)
    assert summary is not None
    source = _text(payload.get("source"), "payload.source", 200)
    custom = payload.get("custom_details")
    if custom is not None and not isinstance(custom, dict):
        raise PayloadError("payload.custom_details", "must be an object")
    if custom and (flawed := first_flaw(custom)):
        raise PayloadError(f"payload.custom_details.{flawed[0]}".rstrip("."), flawed[1])
    details: dict[str, Any] = {"custom_details": custom or {}}
    if source:
        details["source"] = source
    service = custom.get("service") if isinstance(custom, dict) else None
    return ChangeIn(
        summary=summary,
        at=parse_time(payload.get("timestamp")),
        service=_text(service, "payload.custom_details.service", 200) or source,
        source="pagerduty",
        links=_links(body.get("links")),
        details=details,
    )


def parse_unleash(body: dict[str, Any]) -> ChangeIn:
    kind = body.get("type")
    if kind not in UNLEASH_TYPES:
        raise PayloadError(
            "type", f"Unleash event {kind!r} is not taken: send {', '.join(UNLEASH_TYPES)}"
        )
    flag = _text(body.get("featureName"), "featureName", 200, required=True)
    project = _text(body.get("project"), "project", 200) or "default"
    environment = _text(body.get("environment"), "environment", 200, required=True)
    by = _text(body.get("createdBy"), "createdBy", 200) or "unknown"
    state = UNLEASH_TYPES[str(kind)]
    tags = body.get("tags") if isinstance(body.get("tags"), list) else []
    service = next(
        (
            str(t.get("value"))
            for t in tags
            if isinstance(t, dict) and t.get("type") == "service" and t.get("value")
        ),
        None,
    )
    return ChangeIn(
        summary=f"flag {flag} {state} in {environment} ({project}) by {by}",
        at=parse_time(body.get("createdAt"), "createdAt"),
        service=_text(service, "tags.service", 200),
        source="unleash",
        details={
            "flag": flag,
            "project": project,
            "environment": environment,
            "enabled": state == "enabled",
            "unleash_event": body.get("id") if isinstance(body.get("id"), int) else None,
        },
    )
