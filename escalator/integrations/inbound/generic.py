"""The generic JSON intake, for any monitor without a native integration.

Either one alert object or ``{"alerts": [ … ]}``. Each alert::

    {"title": "Checkout latency p99 > 2s",        # required
     "status": "firing",                            # firing (default) | resolved
     "fingerprint": "checkout-latency",             # optional; else computed from labels+title
     "service": "checkout", "severity": "critical",
     "description": "…", "labels": {"region": "eu-1"},
     "links": [{"href": "https://grafana/…", "text": "Dashboard"}],
     "started_at": "2026-11-27T10:00:00Z"}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalator.domain.alerts import AlertIn, AlertStatus, Link, Rejected, fingerprint_of
from escalator.domain.text import clean
from escalator.integrations.inbound.alertmanager import Batch
from escalator.integrations.inbound.common import PayloadError, refuse_unstorable


class GenericLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    href: str = Field(pattern=r"^https?://", max_length=2000)
    text: str = Field(default="", max_length=200)


class GenericAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500)
    status: Literal["firing", "resolved"] = "firing"
    fingerprint: str | None = Field(default=None, min_length=1, max_length=128)
    service: str = Field(default="", max_length=200)
    severity: str = Field(default="", max_length=32)
    description: str = Field(default="", max_length=20000)
    labels: dict[str, str] = {}
    links: list[GenericLink] = []
    started_at: datetime | None = None
    ended_at: datetime | None = None


def parse(body: Any, *, source: str = "generic") -> Batch:
    if isinstance(body, dict) and "alerts" in body:
        items = body["alerts"]
        if not isinstance(items, list):
            raise PayloadError("alerts", "must be an array of alert objects")
    elif isinstance(body, dict):
        items = [body]
    else:
        raise PayloadError("body", 'expected an alert object or {"alerts": [ … ]}')
    alerts, rejected = [], []
    for index, item in enumerate(items):
        try:
            valid = GenericAlert.model_validate(item)
            refuse_unstorable(valid.model_dump())
            alerts.append(_alert(valid, source))
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'alert'}: {e['msg']}" for e in exc.errors()
            )
            rejected.append(Rejected(index, clean(reasons)))
        except ValueError as exc:
            rejected.append(Rejected(index, clean(str(exc))))
    return Batch(alerts, rejected)


def _alert(item: GenericAlert, source: str) -> AlertIn:
    labels = {"alertname": item.title, **item.labels}
    if item.service:
        labels.setdefault("service", item.service)
    return AlertIn(
        source=source,
        fingerprint=item.fingerprint or fingerprint_of(labels),
        status=AlertStatus(item.status),
        title=item.title,
        labels=labels,
        description=item.description,
        service=item.service,
        severity=item.severity,
        starts_at=_aware(item.started_at, "started_at"),
        ends_at=_aware(item.ended_at, "ended_at"),
        links=tuple(Link(link.href, link.text) for link in item.links),
    )


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{field}: {value.isoformat()} is out of range once in UTC") from exc
