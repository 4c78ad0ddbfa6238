"""ALERT intake: store what came in, as fast as it came. Deciding comes later (the engine).

Handlers translate and save; they never decide or notify. A post's alerts are upserted with
``pending`` set, and the worker turns pending alerts into incidents (``process/alarms.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from escalator.domain.alerts import AlertIn, group_key
from escalator.store.upsert import upsert_alerts


def alert_rows(
    alerts: Iterable[AlertIn], *, integration_id: int | None, group_by: Sequence[str], now: datetime
) -> list[dict[str, Any]]:
    """Rows for :func:`upsert_alerts`, one per (source, fingerprint): the last one posted wins."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for alert in alerts:
        rows[(alert.source, alert.fingerprint)] = {
            "source": alert.source,
            "fingerprint": alert.fingerprint,
            "integration_id": integration_id,
            "status": alert.status.value,
            "title": alert.title,
            "description": alert.description,
            "service": alert.service[:200],
            "severity": alert.severity[:32],
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "links": [{"href": link.href, "text": link.text} for link in alert.links],
            "group_key": group_key(alert, group_by),
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "first_seen": now,
            "last_seen": now,
            "fire_count": 1,
            "pending": True,
            "incident_id": None,
        }
    return list(rows.values())


def save_alerts(
    session: Session,
    alerts: Iterable[AlertIn],
    *,
    integration_id: int | None,
    group_by: Sequence[str],
    now: datetime,
) -> int:
    rows = alert_rows(alerts, integration_id=integration_id, group_by=group_by, now=now)
    upsert_alerts(session, rows)
    return len(rows)
