"""/api/v1/sessions: the caller's console sessions (signed-in browsers), and revoking them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from escalator.api.deps import Person, ReadSession, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Id
from escalator.process.core import console_sessions

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import ConsoleSession

router = APIRouter(prefix="/api/v1/sessions", tags=["console sessions"])


class SessionOut(BaseModel):
    id: int
    person: str
    user_agent: str
    created_at: datetime
    last_seen_at: datetime = Field(description="Written at most once a minute")
    expires_at: datetime = Field(description="When it ends unless used again (or revoked)")
    revoked_at: datetime | None
    state: str = Field(description="live, expired or revoked")

    @classmethod
    def of(cls, row: ConsoleSession, limits: console_sessions.Limits, now: datetime) -> SessionOut:
        return cls(
            id=row.id,
            person=row.person,
            user_agent=row.user_agent,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=limits.expires_at(row),
            revoked_at=row.revoked_at,
            state=limits.state(row, now),
        )


def _limits(request: Request) -> console_sessions.Limits:
    return console_sessions.Limits.of(request.app.state.services.settings)


@router.get("", response_model=list[SessionOut], responses=ERRORS)
def list_sessions(request: Request, session: ReadSession, person: Person) -> list[SessionOut]:
    """The caller's console sessions, newest first."""
    now = request.app.state.services.clock.now()
    limits = _limits(request)
    return [SessionOut.of(row, limits, now) for row in console_sessions.list_for(session, person)]


@router.delete("/{session_id}", response_model=SessionOut, responses=ERRORS)
def revoke_session(session_id: Id, work: Work, request: Request) -> SessionOut:
    """Sign a browser out: its next console request goes to the sign-in page."""
    with work() as ctx:
        row = console_sessions.revoke(ctx, session_id, person=ctx.actor)
        return SessionOut.of(row, _limits(request), ctx.now)
