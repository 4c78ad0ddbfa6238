"""INSERT … ON CONFLICT for the two backends, so that concurrent writers never race.

The alert upsert is intake's hot path: its statement is compiled once per dialect and run
through the driver's executemany with values already in the driver's terms, which skips
SQLAlchemy's per-row type processing (about half the cost of storing an alert).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from escalator.store.models import Alert, AlertGroup

_JSON = frozenset({"labels", "annotations", "links"})
_TIMES = frozenset({"starts_at", "ends_at", "first_seen", "last_seen"})
_COLUMNS = (
    "source",
    "fingerprint",
    "integration_id",
    "status",
    "title",
    "description",
    "service",
    "severity",
    "labels",
    "annotations",
    "links",
    "group_key",
    "starts_at",
    "ends_at",
    "first_seen",
    "last_seen",
    "fire_count",
    "pending",
    "incident_id",
)
_compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}


def dialect_insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _alert_upsert(dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The SQL text, and for positional drivers the order of its parameters."""
    if dialect.name not in _compiled:
        module = postgresql if dialect.name == "postgresql" else sqlite
        stmt = module.insert(Alert.__table__).values({c: bindparam(c) for c in _COLUMNS})
        new = stmt.excluded
        firing = literal_column("'firing'")
        refired = case(
            (
                (new.status == firing) & (Alert.status != firing),
                Alert.fire_count + literal_column("1"),
            ),
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
                "pending": literal_column("true" if dialect.name == "postgresql" else "1"),
            },
        )
        compiled = stmt.compile(dialect=dialect)
        order = (
            tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        )
        _compiled[dialect.name] = (str(compiled), order)
    return _compiled[dialect.name]


def _driver_value(name: str, value: Any, postgres: bool) -> Any:
    if value is None:
        return None
    if name in _JSON:
        return json.dumps(value)
    if name in _TIMES:
        assert isinstance(value, datetime) and value.tzinfo is not None
        utc = value.astimezone(UTC)
        return utc if postgres else utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if name == "pending":
        return bool(value) if postgres else int(bool(value))
    return value


def upsert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new alerts; on (source, fingerprint) update the existing row and mark it pending.

    A resolved alert that fires again counts one more firing. ``rows`` must hold each
    (source, fingerprint) once.
    """
    if not rows:
        return
    connection = session.connection()
    sql, order = _alert_upsert(connection.dialect)
    postgres = connection.dialect.name == "postgresql"
    converted = [{k: _driver_value(k, row[k], postgres) for k in _COLUMNS} for row in rows]
    if order is not None:
        connection.exec_driver_sql(sql, [tuple(r[k] for k in order) for r in converted])
    else:
        connection.exec_driver_sql(sql, converted)


def claim_group(session: Session, group_key: str, now: Any) -> AlertGroup:
    """The group row for ``group_key``, created if missing and locked for this transaction."""
    stmt = dialect_insert(session, AlertGroup.__table__).values(
        group_key=group_key, incident_id=None, opened_at=now
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["group_key"]))
    query = select(AlertGroup).where(AlertGroup.group_key == group_key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


def claim_groups(session: Session, group_keys: Sequence[str], now: Any) -> dict[str, AlertGroup]:
    """:func:`claim_group` for many keys in two statements, locked in ``group_key`` order."""
    keys = sorted(set(group_keys))
    if not keys:
        return {}
    stmt = dialect_insert(session, AlertGroup.__table__).on_conflict_do_nothing(
        index_elements=["group_key"]
    )
    session.execute(stmt, [{"group_key": k, "incident_id": None, "opened_at": now} for k in keys])
    query = select(AlertGroup).where(AlertGroup.group_key.in_(keys)).order_by(AlertGroup.group_key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {group.group_key: group for group in session.scalars(query)}
