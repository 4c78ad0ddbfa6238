"""/api/v1/integrations and /api/v1/messages: intake credentials and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from escalator.api.deps import Person, ReadSession, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Body, Id
from escalator.domain.permissions import check_action
from escalator.process.core import integrations, messages, queries

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import Integration, OutboxMessage

router = APIRouter(prefix="/api/v1", tags=["integrations and messages"])


class IntegrationIn(Body):
    kind: Literal["alertmanager", "cloudwatch", "grafana", "generic", "forum"]
    name: str = Field(min_length=1, max_length=100)


class IntegrationOut(BaseModel):
    id: int
    kind: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Integration) -> IntegrationOut:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class NewIntegration(IntegrationOut):
    secret: str = Field(description="Shown once. Keep it secret.")
    url: str = Field(description="The intake URL with the secret as ?token=")


class MessageOut(BaseModel):
    id: int
    incident: str | None
    channel: str
    destination: str
    subject: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    result: dict[str, Any]

    @classmethod
    def of(cls, row: OutboxMessage) -> MessageOut:
        fields = {name: getattr(row, name) for name in cls.model_fields if name != "incident"}
        return cls(incident=f"INC-{row.incident_id}" if row.incident_id else None, **fields)


def base_url(request: Request, configured: str) -> str:
    return configured or str(request.base_url).rstrip("/")


@router.get("/integrations", response_model=list[IntegrationOut], responses=ERRORS)
def list_integrations(session: ReadSession, _: Person) -> list[IntegrationOut]:
    return [IntegrationOut.of(row) for row in integrations.list_all(session)]


@router.post("/integrations", response_model=NewIntegration, status_code=201, responses=ERRORS)
def add_integration(body: IntegrationIn, work: Work, request: Request) -> NewIntegration:
    with work() as ctx:
        check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "integration.manage")
        row, secret = integrations.create(ctx, kind=body.kind, name=body.name)
        svc = request.app.state.services
        url = integrations.intake_url(base_url(request, svc.settings.public_url), row.kind, secret)
        return NewIntegration(**IntegrationOut.of(row).model_dump(), secret=secret, url=url)


@router.delete("/integrations/{integration_id}", response_model=IntegrationOut, responses=ERRORS)
def revoke_integration(integration_id: Id, work: Work) -> IntegrationOut:
    """Revoke an integration: its posts are refused from the next one on (every process
    checks the secret is live in the transaction that would store the post)."""
    with work() as ctx:
        check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "integration.manage")
        return IntegrationOut.of(integrations.revoke(ctx, integration_id))


@router.get("/messages", response_model=list[MessageOut], responses=ERRORS)
def list_messages(
    session: ReadSession,
    _: Person,
    state: Literal["pending", "sent", "dead"] | None = None,
    channel: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MessageOut]:
    rows = queries.messages(session, channel=channel, state=state, limit=limit)
    return [MessageOut.of(row) for row in rows]


@router.post("/messages/{message_id}/retry", response_model=MessageOut, responses=ERRORS)
def retry_message(message_id: Id, work: Work) -> MessageOut:
    """Send a dead-lettered message again."""
    with work() as ctx:
        return MessageOut.of(messages.retry(ctx, message_id))
