"""The Incident Report: the five Ws, and the evidence behind them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from escalator.domain.lifecycle import Change, check_open
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.evidence import attach
from escalator.process.core.records import load, record, state_of
from escalator.store.models import Attachment, Incident, IncidentLink, Report
from escalator.store.upsert import dialect_insert

FIELDS = ("who", "what", "where", "when", "how")
EVIDENCE_KINDS = ("log", "email", "pagerduty", "cloudwatch", "graph", "statsd", "other")


def writable(incident: Incident, what: str) -> None:
    """Triage's writes (the report, evidence, the assessment, the playbook) are refused once
    the incident is resolved or closed, naming its status."""
    check_open(state_of(incident), what)


def prefill(ctx: Ctx, incident: Incident) -> Report:
    """What the alarm or the customer already told us."""
    d: dict[str, Any] = incident.details
    labels = d.get("labels") or {}
    who = ", ".join(
        str(v)
        for v in (d.get("caller"), d.get("from"), d.get("forum_user"), d.get("account_name"))
        if v
    )
    where = ", ".join(
        str(v)
        for v in (d.get("service"), labels.get("instance"), labels.get("region"), d.get("url"))
        if v
    )
    row = Report(
        incident_id=incident.id,
        who=who,
        what=incident.title,
        where=where,
        when=f"reported {incident.created_at:%Y-%m-%d %H:%M} UTC via {incident.channel}",
        how=incident.description[:4000],
        updated_at=ctx.now,
        updated_by=ctx.actor,
    )
    ctx.session.add(row)
    for link in d.get("links") or []:
        if isinstance(link, dict) and link.get("href"):
            _link(ctx, incident, "evidence", link["href"], link.get("text", ""), link["href"])
    return row


def update(ctx: Ctx, key: str, changes: dict[str, str]) -> Report:
    """Edit the five Ws; each changed field goes on the timeline with before and after."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], f"not a field of the report ({', '.join(FIELDS)})")
    incident = load(ctx, key)
    writable(incident, "edit the incident report")
    row = ctx.session.get(Report, incident.id)
    assert row is not None
    for name in FIELDS:
        if name in changes and changes[name] != getattr(row, name):
            before = getattr(row, name)
            setattr(row, name, changes[name])
            record(
                ctx,
                incident,
                "report_edited",
                change=Change(f"report.{name}", before, changes[name]),
            )
    row.updated_at, row.updated_by = ctx.now, ctx.actor
    return row


def _link(
    ctx: Ctx, incident: Incident, kind: str, ref: str, title: str, url: str
) -> tuple[IncidentLink, bool]:
    """The incident's link to ``ref``, and whether it was made now: an upsert, so the same link
    added twice (or by two people at once) is kept once."""
    values = {
        "incident_id": incident.id,
        "kind": kind,
        "ref": ref[:500],
        "title": title[:500],
        "url": url[:2000],
        "added_by": ctx.actor,
        "added_at": ctx.now,
    }
    insert = dialect_insert(ctx.session, IncidentLink.__table__).values(values)
    made = ctx.session.scalar(
        insert.on_conflict_do_nothing(index_elements=["incident_id", "kind", "ref"]).returning(
            IncidentLink.id
        )
    )
    row = ctx.session.scalars(
        select(IncidentLink).where(
            IncidentLink.incident_id == incident.id,
            IncidentLink.kind == kind,
            IncidentLink.ref == values["ref"],
        )
    ).one()
    return row, made is not None


def add_link(
    ctx: Ctx, key: str, *, url: str, title: str = "", kind: str = "other"
) -> tuple[IncidentLink, bool]:
    """Link a piece of evidence; the same link again is kept once (``False``: it was there)."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("url", "give a full http(s) link")
    if kind not in EVIDENCE_KINDS:
        raise InvalidInput("kind", f"one of {', '.join(EVIDENCE_KINDS)}")
    incident = load(ctx, key)
    writable(incident, "add evidence")
    row, made = _link(ctx, incident, "evidence", url, title or kind, url)
    if made:
        record(ctx, incident, "evidence_added", note=f"{kind}: {title or url}", data={"url": url})
    return row, made


def upload(
    ctx: Ctx, key: str, *, filename: str, content_type: str, data: bytes, max_bytes: int
) -> Attachment:
    if not data:
        raise InvalidInput("file", "the file is empty")
    if len(data) > max_bytes:
        raise InvalidInput("file", f"{len(data)} bytes is over the {max_bytes}-byte limit")
    incident = load(ctx, key)
    writable(incident, "add evidence")
    row = attach(
        ctx,
        incident,
        filename=filename[:300] or "upload",
        content_type=content_type[:200] or "application/octet-stream",
        data=data,
        source="upload",
        max_bytes=max_bytes,
    )
    assert row is not None
    ctx.session.flush()
    record(
        ctx,
        incident,
        "evidence_added",
        note=f"file {row.filename} ({row.size} bytes)",
        data={"attachment": row.id, "sha256": row.sha256},
    )
    return row
