"""Everything the triage checklist shows for one incident, read in one go."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.process.core.queries import get_incident
from escalator.process.triage import related as related_search
from escalator.store.models import (
    Assessment,
    Attachment,
    Incident,
    IncidentLink,
    PlaybookRun,
    Report,
    Ticket,
)


@dataclass
class TriageView:
    incident: Incident
    report: Report | None
    links: list[IncidentLink]
    files: list[Attachment]
    ticket: Ticket | None
    assessments: list[Assessment]
    playbooks: list[PlaybookRun]
    related: list[related_search.Related] = field(default_factory=list)

    @property
    def writable(self) -> bool:
        """Whether the checklist's forms are offered: not once it is resolved or closed (the
        use cases refuse those writes, naming the status)."""
        return self.incident.status in ("open", "acknowledged")

    @property
    def due_at(self) -> datetime | None:
        return self.incident.triage_due_at


def load(session: Session, key: str, *, with_related: bool = True) -> TriageView:
    incident = get_incident(session, key)

    def rows(model: type, order: object) -> list:  # type: ignore[type-arg]
        return list(
            session.scalars(
                select(model).where(model.incident_id == incident.id).order_by(order)
            ).all()
        )  # type: ignore[attr-defined]

    return TriageView(
        incident=incident,
        report=session.get(Report, incident.id),
        links=rows(IncidentLink, IncidentLink.id),
        files=rows(Attachment, Attachment.id),
        ticket=session.scalars(select(Ticket).where(Ticket.incident_id == incident.id)).first(),
        assessments=rows(Assessment, Assessment.id),
        playbooks=rows(PlaybookRun, PlaybookRun.id),
        related=related_search.find(session, incident) if with_related else [],
    )
