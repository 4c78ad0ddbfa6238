"""Console sessions: what the console's cookie carries instead of an API token.

Signing in with an API token opens a session with a secret of its own, given to the browser
and kept here only as a SHA-256. A copied cookie is therefore no API token, and a session
ends on its own: signed out, revoked by its person, revoked with the token it was opened with,
unused for longer than the idle limit, or older than the absolute limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalator.config.settings import Settings
from escalator.process.core import tokens
from escalator.process.core.context import Ctx
from escalator.process.core.errors import NotFound, possible_id
from escalator.process.core.secrets import digest, new_secret
from escalator.store.models import ApiToken, ConsoleSession

PREFIX = "ess_"
# "last seen" is written at most this often per session, not on every request
TOUCH_EVERY = timedelta(minutes=1)
LIVE, EXPIRED, REVOKED = "live", "expired", "revoked"


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(  # whole seconds
            idle=timedelta(seconds=round(settings.console_session_idle_hours * 3600)),
            absolute=timedelta(seconds=round(settings.console_session_max_days * 86400)),
        )

    def expires_at(self, row: ConsoleSession) -> datetime:
        return min(row.last_seen_at + self.idle, row.created_at + self.absolute)

    def state(self, row: ConsoleSession, now: datetime) -> str:
        if row.revoked_at is not None:
            return REVOKED
        return LIVE if now < self.expires_at(row) else EXPIRED


@dataclass(frozen=True)
class Opened:
    id: int
    person: str
    secret: str  # for the cookie; never stored


def open_session(ctx: Ctx, *, token: str, user_agent: str = "") -> Opened | None:
    """A new session for the person of a live API token; None for an unknown or revoked one."""
    api_token = tokens.live_token(ctx.session, token)
    if api_token is None:
        return None
    secret = new_secret(PREFIX)
    row = ConsoleSession(
        person=api_token.person,
        token_id=api_token.id,
        secret_hash=secret.digest,
        user_agent=user_agent[:300],
        created_at=ctx.now,
        last_seen_at=ctx.now,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return Opened(row.id, row.person, secret.value)


def find_live(
    session: Session, secret: str, now: datetime, limits: Limits
) -> ConsoleSession | None:
    """The live session a cookie's secret belongs to (its API token live too), or None."""
    if not secret.startswith(PREFIX):
        return None
    row = session.scalars(
        select(ConsoleSession)
        .join(ApiToken, ApiToken.id == ConsoleSession.token_id)
        .where(
            ConsoleSession.secret_hash == digest(secret),
            ConsoleSession.revoked_at.is_(None),
            ApiToken.revoked_at.is_(None),
        )
    ).one_or_none()
    if row is None or limits.state(row, now) != LIVE:
        return None
    return row


def is_stale(row: ConsoleSession, now: datetime) -> bool:
    """Whether "last seen" is old enough to be written again."""
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int, now: datetime) -> None:
    """Mark the session used at ``now``; a no-op within a minute of the last mark."""
    session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.id == session_id,
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.last_seen_at <= now - TOUCH_EVERY,
        )
        .values(last_seen_at=now)
    )


def list_for(session: Session, person: str, *, limit: int = 100) -> list[ConsoleSession]:
    """A person's sessions, newest first."""
    return list(
        session.scalars(
            select(ConsoleSession)
            .where(ConsoleSession.person == person)
            .order_by(ConsoleSession.id.desc())
            .limit(limit)
        )
    )


def revoke(ctx: Ctx, session_id: int, *, person: str) -> ConsoleSession:
    """End one of ``person``'s sessions; that browser is signed out at its next request."""
    missing = f"{person} has no live console session with id {session_id}"
    row = ctx.session.get(ConsoleSession, possible_id(session_id, missing))
    if row is None or row.person != person or row.revoked_at is not None:
        raise NotFound(missing)
    row.revoked_at = ctx.now
    return row


def sign_out(ctx: Ctx, secret: str) -> None:
    """End the session a cookie's secret belongs to, if it is still going."""
    if not secret.startswith(PREFIX):
        return
    ctx.session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.secret_hash == digest(secret), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=ctx.now)
    )
