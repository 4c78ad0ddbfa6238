"""COMMUNICATE: an incident is not closed while one of its contacts was never told that it
was resolved (an update sent after resolving, and delivered), unless a manager waives that
with a reason. A guard of ``events.CLOSING``, asked by ``core.incidents.close``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.domain.lifecycle import Status
from escalator.domain.permissions import check_action
from escalator.process.communicate import clock
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.records import load, record
from escalator.store.models import Contact, CustomerUpdate, Incident, TimelineEvent

WAIVED = "resolution_notice_waived"


def not_told(session: Session, incident: Incident) -> list[Contact]:
    """Contacts who have not been told (delivered) since the incident was last resolved."""
    contacts = list(
        session.scalars(
            select(Contact).where(Contact.incident_id == incident.id).order_by(Contact.id)
        )
    )
    if not contacts or incident.resolved_at is None:
        return contacts
    told = set(
        session.scalars(
            select(CustomerUpdate.contact_id).where(
                CustomerUpdate.incident_id == incident.id,
                CustomerUpdate.direction == "out",
                CustomerUpdate.state == "sent",
                CustomerUpdate.created_at >= incident.resolved_at,
            )
        )
    )
    return [c for c in contacts if c.id not in told]


def waiver(session: Session, incident: Incident) -> TimelineEvent | None:
    """A manager's waiver given since the incident was last resolved."""
    if incident.resolved_at is None:
        return None
    return session.scalars(
        select(TimelineEvent)
        .where(
            TimelineEvent.incident_id == incident.id,
            TimelineEvent.kind == WAIVED,
            TimelineEvent.at >= incident.resolved_at,
        )
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    ).first()


def refuses_close(ctx: Ctx, incident: Incident) -> str | None:
    """Why not to close yet: a contact was never told it was resolved (and nobody waived it)."""
    untold = not_told(ctx.session, incident)
    if not untold or waiver(ctx.session, incident) is not None:
        return None
    names = ", ".join(clock.label(c) for c in untold)
    verb = "were" if len(untold) > 1 else "was"
    return (
        f"{names} {verb} never told it was resolved: second tier sends them the final update "
        f"from {incident.key}'s Customers panel, or a manager waives it there with a reason "
        f"(from the command line: escalator update {incident.key} --text …, or escalator "
        f"updates waive {incident.key} --reason …)"
    )


def waive(ctx: Ctx, key: str, *, reason: str) -> TimelineEvent:
    """A manager decides the contacts need not be told it is resolved, and says why."""
    check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "customer.waive")
    incident = load(ctx, key)
    if Status(incident.status) != Status.RESOLVED:
        raise InvalidInput(
            "incident",
            f"{incident.key} is {incident.status}: only a resolved incident's final update "
            "can be waived",
        )
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "say why the customers need not be told it was resolved")
    untold = not_told(ctx.session, incident)
    if not untold:
        raise InvalidInput(
            "incident", f"every contact of {incident.key} was told: nothing to waive"
        )
    names = ", ".join(clock.label(c) for c in untold)
    for contact in untold:
        contact.due_at = None
    return record(
        ctx,
        incident,
        WAIVED,
        note=f"not telling {names} it was resolved: {reason}",
        data={"contacts": [c.id for c in untold], "reason": reason[:2000]},
    )
