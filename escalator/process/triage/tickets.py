"""The incident's ticket in the MCT project.

Built in by default (keys MCT-1, MCT-2, … with status and comments). With JIRA configured,
the ticket is made in JIRA through the outbox: create (idempotent: the sender first looks for
the incident's label), then comments at key events and a transition when the incident
resolves, all queued behind the create so they wait for its key. JIRA being down delays the
ticket; triage goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.process.core import known
from escalator.process.core.context import Ctx
from escalator.process.core.errors import NotFound
from escalator.process.core.records import enqueue
from escalator.process.triage import related
from escalator.store.models import Incident, IncidentLink, Ticket, TicketComment, TimelineEvent

JIRA = "jira"
CREATED = "ticket.created"  # delivery receipt of a JIRA create


def label(incident: Incident) -> str:
    return f"escalator-{incident.key}"


def ticket_of(ctx: Ctx, incident: Incident) -> Ticket | None:
    loaded = known.rows(ctx.session, Ticket, incident.id)
    if loaded is not None:
        return loaded[0] if loaded else None
    return ctx.session.scalars(
        select(Ticket).where(Ticket.incident_id == incident.id).order_by(Ticket.id).limit(1)
    ).first()


def open_ticket(ctx: Ctx, incident: Incident, event: TimelineEvent, *, url: str = "") -> Ticket:
    project = ctx.channels.ticket_project
    ticket = Ticket(
        incident_id=incident.id,
        tracker=JIRA if ctx.channels.jira else "builtin",
        project=project,
        status="Open",
        summary=f"{incident.key} {incident.title}"[:500],
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(ticket)
    ctx.session.flush()
    if not ctx.channels.jira:
        ticket.key = f"{project}-{ticket.id}"
        _index(ctx, incident, ticket)
        return ticket
    body = f"{incident.description}\n\nEscalator incident {incident.key}: {url}".strip()
    _jira(
        ctx,
        incident,
        event,
        "create",
        {
            "fields": {
                "project": {"key": project},
                "summary": ticket.summary,
                "description": body,
                "labels": [label(incident)],
            },
            "label": label(incident),
            "link": {"url": url, "title": f"Escalator {incident.key}"} if url else None,
            "receipt": CREATED,
            "ticket_id": ticket.id,
        },
    )
    return ticket


def on_created(ctx: Ctx, payload: dict[str, Any], result: dict[str, Any]) -> None:
    """Receipt of a JIRA create: the ticket learns its key."""
    ticket = ctx.session.get(Ticket, payload.get("ticket_id"))
    if ticket is None or ticket.key:
        return
    ticket.key, ticket.url, ticket.updated_at = result.get("key"), result.get("url", ""), ctx.now
    incident = ctx.session.get(Incident, ticket.incident_id)
    if incident is not None:
        _index(ctx, incident, ticket)


def comment(ctx: Ctx, incident: Incident, event: TimelineEvent, text: str) -> None:
    ticket = ticket_of(ctx, incident)
    if ticket is None:
        return
    if ticket.tracker == JIRA:
        _jira(ctx, incident, event, "comment", {"body": text})
    else:
        ctx.session.add(TicketComment(ticket_id=ticket.id, at=ctx.now, author=ctx.actor, body=text))
    ticket.updated_at = ctx.now


def close(ctx: Ctx, incident: Incident, event: TimelineEvent, note: str) -> None:
    ticket = ticket_of(ctx, incident)
    if ticket is None:
        return
    ticket.status, ticket.updated_at = "Done", ctx.now
    if ticket.tracker == JIRA:
        _jira(ctx, incident, event, "transition", {"to": "Done", "comment": note})
    else:
        ctx.session.add(
            TicketComment(
                ticket_id=ticket.id, at=ctx.now, author=ctx.actor, body=f"Resolved: {note}"
            )
        )


def _jira(
    ctx: Ctx, incident: Incident, event: TimelineEvent, op: str, payload: dict[str, Any]
) -> None:
    enqueue(
        ctx,
        incident=incident,
        channel=JIRA,
        destination=ctx.channels.ticket_project,
        subject=f"{op} {incident.key}",
        idempotency_key=f"jira:{op}:{event.ref}",
        payload={"op": op, **payload},
    )


def _index(ctx: Ctx, incident: Incident, ticket: Ticket) -> None:
    if ticket.key:
        related.index(ctx, incident, kind="ticket", ref=ticket.key, title=ticket.summary)


def on_resolved(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    close(ctx, incident, event, event.note or "resolved")


def on_customer_updated(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """An update reached a customer: the ticket keeps what they were told."""
    comment(ctx, incident, event, f"Customer update. {event.note}".strip())


@dataclass(frozen=True)
class TicketView:
    """A built-in ticket's page: the ticket, its comments, and the incidents it belongs to
    (its own, then any that linked it as related)."""

    ticket: Ticket
    comments: list[TicketComment]
    incidents: list[Incident]


def builtin(session: Session, limit: int = 200) -> list[Ticket]:
    """The built-in tracker's tickets, newest first."""
    query = select(Ticket).where(Ticket.tracker == "builtin").order_by(Ticket.id.desc())
    return list(session.scalars(query.limit(limit)))


def view(session: Session, key: str) -> TicketView:
    ticket = session.scalars(
        select(Ticket).where(Ticket.tracker == "builtin", Ticket.key == key)
    ).first()
    if ticket is None:
        raise NotFound(f"no ticket {key} in the built-in tracker")
    comments = session.scalars(
        select(TicketComment).where(TicketComment.ticket_id == ticket.id).order_by(TicketComment.id)
    )
    linked = select(IncidentLink.incident_id).where(
        IncidentLink.kind == "ticket", IncidentLink.ref == key
    )
    found = session.scalars(
        select(Incident)
        .where((Incident.id == ticket.incident_id) | Incident.id.in_(linked))
        .order_by(Incident.id)
    )
    own = sorted(found, key=lambda i: i.id != ticket.incident_id)
    return TicketView(ticket, list(comments), own)


def on_council_decided(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The Engineering Council decided, or its decision acted: the ticket keeps it."""
    comment(ctx, incident, event, f"Engineering Council: {event.note}".strip())
