"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from escalator.domain.permissions import ESCALATE_TO
from escalator.domain.text import first_flaw
from escalator.process.core.errors import MAX_ROW_ID

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import TimelineEvent

Id = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]


class Body(BaseModel):
    """A request body: unknown fields refused, and text that cannot be stored (a NUL, a lone
    surrogate) refused with its field named."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        flawed = first_flaw(value)
        if flawed:
            raise ValueError(f"{flawed[0]}: {flawed[1]}" if flawed[0] else flawed[1])
        return value


class ReportIn(Body):
    """A customer report taken by hand: a phone call, or typed in from an email or the forum."""

    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20000)
    channel: Literal["phone", "email", "forum", "manual"] = "phone"
    caller: str | None = Field(default=None, max_length=200, description="Who called or wrote")
    account: str | None = Field(default=None, max_length=200, description="The customer account")
    contact: str | None = Field(default=None, max_length=200, description="Phone or email")


class NoteIn(Body):
    note: str = Field(default="", max_length=5000)


class EscalateIn(NoteIn):
    role: str = Field(
        max_length=64,
        description="The role to hand the incident to: " + ", ".join(ESCALATE_TO),
    )
    person: str | None = Field(
        default=None, max_length=64, description="A holder of the role; default: who holds it now"
    )


class FromRow(BaseModel):
    """A response made of a row's attributes of the same names."""

    @classmethod
    def of(cls, row: object) -> Self:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class IncidentOut(FromRow):
    key: str
    title: str
    description: str
    source: str
    channel: str
    status: str
    stage: str
    owner_role: str | None
    owner_person: str | None
    severity: str | None
    reporter: str
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int = Field(description="How many match, counted up to 10,000 (see total_exact)")
    total_exact: bool = Field(description="False when there are more than `total`")
    limit: int
    offset: int
    next_offset: int | None
    next_before: str | None = Field(
        description="Pass as `before` for the next (older) page: paging by key stays fast"
    )


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    field: str | None
    before: str | None = Field(serialization_alias="from")
    after: str | None = Field(serialization_alias="to")
    note: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: TimelineEvent) -> EventOut:
        return cls(
            at=event.at,
            actor=event.actor,
            kind=event.kind,
            field=event.field,
            before=event.before,
            after=event.after,
            note=event.note,
            data=event.data,
        )
