"""/api/v1/…: COMMUNICATE — an incident's customers (contacts, ledger, draft), sending an
update, reading replies, waiving the final update, and second tier's "updates due" queue."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from escalator.api.deps import Person, ReadSession, ServicesDep, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Body
from escalator.process.communicate import closing, contacts, updates, view

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import Contact, CustomerUpdate

router = APIRouter(prefix="/api/v1", tags=["communicate"])


class ContactIn(Body):
    """Someone to keep updated: an email address (a new thread) or a phone number."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=60)


class UpdateIn(Body):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20000, description="What the customer reads")
    next: str | None = Field(
        default=None,
        max_length=60,
        description="When the next update comes: 30m, 1h, 14:30 or 2026-11-02T14:30Z "
        "(required while the incident is open)",
    )
    contacts: list[str] | None = Field(
        default=None, description="Contact ids, addresses or names; default: every contact"
    )


class WaiveIn(Body):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class EntryOut(BaseModel):
    id: int
    contact: int
    direction: str
    kind: str
    by: str
    body: str
    state: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_update_at: datetime | None
    read_at: datetime | None

    @classmethod
    def of(
        cls, row: CustomerUpdate, state: str | None = None, error: str | None = None
    ) -> EntryOut:
        return cls(
            id=row.id,
            contact=row.contact_id,
            direction=row.direction,
            kind=row.kind,
            by=row.by,
            body=row.body,
            state=state or row.state,
            error=error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            next_update_at=row.next_update_at,
            read_at=row.read_at,
        )


class ContactOut(BaseModel):
    id: int
    name: str
    channel: str
    address: str
    source: str
    last_told_at: datetime | None
    promised_at: datetime | None
    due_at: datetime | None
    overdue: bool = False
    unread: int = 0
    ledger: list[EntryOut] = []

    @classmethod
    def of(cls, contact: Contact, **extra: Any) -> ContactOut:
        return cls(
            id=contact.id,
            name=contact.name,
            channel=contact.channel,
            address=contact.address,
            source=contact.source,
            last_told_at=contact.last_told_at,
            promised_at=contact.promised_at,
            due_at=contact.due_at,
            **extra,
        )


class CustomersOut(BaseModel):
    incident: str
    status: str
    contacts: list[ContactOut]
    draft: str
    suggested_next: str
    needs_next: bool
    not_told_resolved: list[int]
    waived: str | None


class DueOut(BaseModel):
    incident: str
    title: str
    status: str
    severity: str | None
    due_at: datetime | None
    seconds_left: int | None
    overdue: bool
    owed: list[str]
    unread: int
    resolution: bool


@router.get("/incidents/{key}/customers", response_model=CustomersOut, responses=ERRORS)
def customers(key: str, svc: ServicesDep, session: ReadSession, person: Person) -> CustomersOut:
    """The incident's contacts, each with their ledger and when they are next owed an update,
    and a draft of the next update."""
    panel = view.panel(session, svc.process, key, svc.clock.now(), sender=person)
    return CustomersOut(
        incident=panel.incident.key,
        status=panel.incident.status,
        contacts=[
            ContactOut.of(
                v.contact,
                overdue=v.overdue,
                unread=v.unread,
                ledger=[EntryOut.of(e.row, e.state, e.error) for e in v.entries],
            )
            for v in panel.contacts
        ],
        draft=panel.draft,
        suggested_next=panel.suggested_next,
        needs_next=panel.needs_next,
        not_told_resolved=[c.id for c in panel.untold],
        waived=panel.waiver.note if panel.waiver else None,
    )


@router.post(
    "/incidents/{key}/contacts", response_model=ContactOut, status_code=201, responses=ERRORS
)
def add_contact(key: str, body: ContactIn, work: Work) -> ContactOut:
    with work() as ctx:
        return ContactOut.of(contacts.add(ctx, key, **body.model_dump()))


@router.post(
    "/incidents/{key}/updates", response_model=list[EntryOut], status_code=201, responses=ERRORS
)
def send_update(key: str, body: UpdateIn, work: Work) -> list[EntryOut]:
    """Send an update to the incident's contacts (or those named). Email and forum updates
    are ``pending`` until delivered; a call is logged ``sent``."""
    with work() as ctx:
        rows = updates.send(ctx, key, text=body.text, next_update=body.next, to=body.contacts)
        return [EntryOut.of(r) for r in rows]


@router.post("/incidents/{key}/updates/read", responses=ERRORS)
def read_replies(key: str, work: Work) -> dict[str, int]:
    """Mark the customers' replies read."""
    with work() as ctx:
        return {"read": contacts.mark_read(ctx, key)}


@router.post("/incidents/{key}/resolution-notice/waive", responses=ERRORS)
def waive(key: str, body: WaiveIn, work: Work) -> dict[str, str]:
    """A manager decides the contacts need not be told it was resolved, and says why."""
    with work() as ctx:
        return {"waived": closing.waive(ctx, key, reason=body.reason).note}


@router.get("/updates/due", response_model=list[DueOut], responses=ERRORS)
def updates_due(
    svc: ServicesDep,
    session: ReadSession,
    _: Person,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[DueOut]:
    """Second tier's queue: incidents owing a customer an update, soonest first."""
    now = svc.clock.now()
    return [due_out(item, now) for item in view.due(session, now, limit)]


def due_out(item: view.Due, now: datetime) -> DueOut:
    left = item.left(now)
    return DueOut(
        incident=item.incident.key,
        title=item.incident.title,
        status=item.incident.status,
        severity=item.incident.severity,
        due_at=item.due_at,
        seconds_left=int(left.total_seconds()) if left is not None else None,
        overdue=left is not None and left.total_seconds() <= 0,
        owed=item.owed,
        unread=item.unread,
        resolution=item.resolution,
    )
