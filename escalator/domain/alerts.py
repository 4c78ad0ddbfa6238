"""Alerts as Escalator understands them, whatever sent them; fingerprints and grouping."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True)
class Link:
    href: str
    text: str = ""


@dataclass(frozen=True)
class AlertIn:
    """One alert from one post, translated from its source's format."""

    source: str
    fingerprint: str
    status: AlertStatus
    title: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    service: str = ""
    severity: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: Sequence[Link] = ()


@dataclass(frozen=True)
class Rejected:
    """An item of a batch that could not be taken, and why; the rest of the batch is kept."""

    index: int
    reason: str


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A stable id for an alert from its label set (order does not matter): 16 hex digits."""
    canon = "\x1f".join(f"{k}\x1e{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def group_key(alert: AlertIn, group_by: Sequence[str]) -> str:
    """Alerts with the same values for ``group_by`` share one incident.

    An alert that has none of the grouping labels is a group of its own (its fingerprint), so
    unrelated alerts never fold together just because they lack labels.
    """
    values = [(name, alert.labels.get(name, "")) for name in group_by]
    if not any(v for _, v in values):
        return f"{alert.source}:fp:{alert.fingerprint}"
    text = ",".join(f"{k}={v}" for k, v in values)
    if len(text) > 200:
        text = hashlib.sha256(text.encode()).hexdigest()
    return f"{alert.source}:{text}"
