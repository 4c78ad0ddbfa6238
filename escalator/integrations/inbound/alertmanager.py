"""Prometheus Alertmanager webhook (version 4) and Grafana unified alerting (version 1).

Grafana's body is Alertmanager's ``template.Data`` with extra keys, so one parser serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from escalator.domain.alerts import AlertIn, AlertStatus, Link, Rejected, fingerprint_of
from escalator.domain.text import clean
from escalator.integrations.inbound.common import (
    PayloadError,
    clip,
    parse_time,
    refuse_unstorable,
    string_map,
)

_FINGERPRINT = re.compile(r"^[0-9a-fA-F]{1,64}$")
_LINK_FIELDS = (
    ("generatorURL", "Source"),
    ("silenceURL", "Silence"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
)


@dataclass(frozen=True)
class Batch:
    alerts: list[AlertIn]
    rejected: list[Rejected]
    truncated: int = 0
    group_key: str = ""


def parse(body: Any, *, source: str = "alertmanager") -> Batch:
    if not isinstance(body, dict):
        raise PayloadError("body", "expected a JSON object with an 'alerts' array")
    items = body.get("alerts")
    if not isinstance(items, list):
        raise PayloadError("alerts", "missing or not an array")
    truncated = body.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("truncatedAlerts", "must be a whole number")
    common = _safe_map(body.get("commonLabels"))
    try:
        refuse_unstorable(common)
    except ValueError as exc:
        raise PayloadError("commonLabels", str(exc)) from exc
    alerts: list[AlertIn] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            alerts.append(_alert(item, source, common))
        except ValueError as exc:
            rejected.append(Rejected(index, clean(str(exc))))
    group_key = body.get("groupKey")
    return Batch(alerts, rejected, truncated, group_key if isinstance(group_key, str) else "")


def _safe_map(value: Any) -> dict[str, str]:
    try:
        return string_map(value, "commonLabels")
    except ValueError:
        return {}


def _alert(item: Any, source: str, common: dict[str, str]) -> AlertIn:
    if not isinstance(item, dict):
        raise ValueError("an alert must be a JSON object")
    refuse_unstorable(item)
    labels = string_map(item.get("labels"), "labels")
    if not labels:
        raise ValueError("labels: an alert needs at least one label")
    annotations = string_map(item.get("annotations"), "annotations")
    status = item.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise ValueError(f"status: {status!r} is not 'firing' or 'resolved'")
    fingerprint = item.get("fingerprint")
    if not (isinstance(fingerprint, str) and _FINGERPRINT.match(fingerprint)):
        fingerprint = fingerprint_of(labels)
    links = [
        Link(url, text)
        for key, text in _LINK_FIELDS
        if isinstance(url := item.get(key), str) and url.startswith(("http://", "https://"))
    ]
    runbook = annotations.get("runbook_url") or annotations.get("runbook")
    if runbook and runbook.startswith(("http://", "https://")):
        links.append(Link(runbook, "Runbook"))
    title = annotations.get("summary") or labels.get("alertname") or "alert"
    description = annotations.get("description") or annotations.get("info") or ""
    return AlertIn(
        source=source,
        fingerprint=fingerprint.lower(),
        status=AlertStatus(status),
        title=clip(title, 500),
        labels=labels,
        annotations=annotations,
        description=description,
        service=labels.get("service") or labels.get("job") or common.get("service", ""),
        severity=labels.get("severity", ""),
        starts_at=parse_time(item.get("startsAt")),
        ends_at=parse_time(item.get("endsAt")),
        links=tuple(links),
    )
