"""Change events: what changed (deployments, flags, config), stored with its service, and
the "changed before this opened" read of an incident — the changes to the same service (or
to no service in particular) in the process file's window before it opened, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.integrations.inbound.changes import ChangeIn, parse_time
from escalator.integrations.inbound.common import PayloadError
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.store.models import Change, Incident


def store(ctx: Ctx, change: ChangeIn) -> Change:
    row = Change(
        at=change.at or ctx.now,
        received_at=ctx.now,
        service=change.service,
        summary=change.summary,
        source=change.source,
        links=change.links,
        details=change.details,
        created_by=ctx.actor,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def add(
    ctx: Ctx,
    *,
    summary: str,
    service: str | None = None,
    link: str | None = None,
    at: str | None = None,
) -> Change:
    """A change told by hand (``escalator change add``)."""
    summary = " ".join(summary.split())
    if not summary or len(summary) > 1024:
        raise InvalidInput("summary", "say what changed in 1 to 1024 characters")
    links = []
    if link:
        if not link.startswith(("http://", "https://")) or len(link) > 2000:
            raise InvalidInput("link", "give an http(s) address of at most 2000 characters")
        links.append({"href": link, "text": ""})
    try:
        when = parse_time(at, "at")
    except PayloadError as exc:
        raise InvalidInput("at", exc.reason) from exc
    service = (service or "").strip() or None
    if service and len(service) > 200:
        raise InvalidInput("service", "at most 200 characters")
    return store(ctx, ChangeIn(summary, when, service, "manual", links, {}))


@dataclass(frozen=True)
class Before:
    """A change seen from an incident: how long before it opened."""

    change: Change
    before: timedelta

    @property
    def id(self) -> int:
        return self.change.id


def service_of(incident: Incident) -> str | None:
    service = incident.details.get("service") if isinstance(incident.details, dict) else None
    return str(service) if service else None


def before(session: Session, process: Process, incident: Incident) -> list[Before]:
    """The changes to the incident's service (or with no service) in the window before it
    opened, newest first."""
    window = process.spec.council.changes.window
    start, end = incident.created_at - window, incident.created_at
    service = service_of(incident)
    which = Change.service.is_(None)
    if service:
        which = or_(which, Change.service == service)
    rows = session.scalars(
        select(Change)
        .where(Change.at >= start, Change.at <= end, which)
        .order_by(Change.at.desc(), Change.id.desc())
        .limit(100)
    ).all()
    return [Before(row, end - row.at) for row in rows]


def recent(session: Session, *, limit: int = 50) -> list[Change]:
    return list(session.scalars(select(Change).order_by(Change.id.desc()).limit(limit)))


def as_dict(row: Change) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "service": row.service,
        "summary": row.summary,
        "source": row.source,
        "links": row.links,
        "details": row.details,
    }


def flag_suggestions(items: list[Before]) -> list[dict[str, Any]]:
    """The flags turned on shortly before: the rollback form's pre-filled choices."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for item in items:
        d = item.change.details
        if item.change.source == "unleash" and d.get("enabled") and d.get("flag"):
            key = (str(d.get("project")), str(d["flag"]), str(d.get("environment")))
            if key not in seen:
                seen.add(key)
                out.append({"flag": key[1], "project": key[0], "environment": key[2]})
    return out


def release_suggestions(items: list[Before]) -> list[str]:
    return [i.change.summary for i in items if i.change.source in ("pagerduty", "manual")][:10]
