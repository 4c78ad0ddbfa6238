"""INSERT … ON CONFLICT for the two backends, so that concurrent writers never race."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from escalator.store.models import Alert, AlertGroup


def _insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new alerts; on (source, fingerprint) update the existing row and mark it pending.

    A resolved alert that fires again counts one more firing. ``rows`` must hold each
    (source, fingerprint) once.
    """
    if not rows:
        return
    stmt = _insert(session, Alert.__table__)
    new = stmt.excluded
    refired = case(
        ((new.status == "firing") & (Alert.status != "firing"), Alert.fire_count + 1),
        else_=Alert.fire_count,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "fingerprint"],
        set_={
            "status": new.status,
            "title": new.title,
            "description": new.description,
            "service": new.service,
            "severity": new.severity,
            "labels": new.labels,
            "annotations": new.annotations,
            "links": new.links,
            "starts_at": func.coalesce(new.starts_at, Alert.starts_at),
            "ends_at": new.ends_at,
            "last_seen": new.last_seen,
            "integration_id": new.integration_id,
            "fire_count": refired,
            "pending": True,
        },
    )
    session.execute(stmt, list(rows))


def claim_group(session: Session, group_key: str, now: Any) -> AlertGroup:
    """The group row for ``group_key``, created if missing and locked for this transaction."""
    stmt = _insert(session, AlertGroup.__table__).values(
        group_key=group_key, incident_id=None, opened_at=now
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["group_key"]))
    query = select(AlertGroup).where(AlertGroup.group_key == group_key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()
