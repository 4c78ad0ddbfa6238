"""Outside identifiers that belong to an incident (``incident_refs``): the Message-IDs of a
customer's emails and of our replies to them, a forum topic. A customer's answer is found
again by them, whichever stage wrote the message it answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from escalator.process.core.context import Ctx
from escalator.store.models import Incident, IncidentRef

EMAIL = "email"  # a Message-ID, lower case, without its angle brackets
FORUM = "forum"  # "<source>:<topic>"


def email_ref(message_id: str) -> str:
    """How a Message-ID is kept: lower case, without ``<>`` (as the inbound parser reads it)."""
    return message_id.strip().strip("<>").lower()


def find(ctx: Ctx, kind: str, refs: Sequence[str]) -> Incident | None:
    """The incident one of ``refs`` belongs to, if any."""
    if not refs:
        return None
    row = ctx.session.scalars(
        select(IncidentRef).where(IncidentRef.kind == kind, IncidentRef.ref.in_(refs)).limit(1)
    ).first()
    return ctx.session.get(Incident, row.incident_id) if row else None


def remember(ctx: Ctx, incident: Incident, kind: str, ref: str) -> None:
    """Keep ``ref`` as the incident's (once)."""
    if ref and find(ctx, kind, [ref]) is None:
        ctx.session.add(IncidentRef(kind=kind, ref=ref, incident_id=incident.id))
