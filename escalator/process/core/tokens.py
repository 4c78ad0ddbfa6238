"""API tokens: created for a person, shown once, kept only as a SHA-256 digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound, possible_id
from escalator.process.core.secrets import digest, new_secret
from escalator.store.models import ApiToken, ConsoleSession

PREFIX = "esc_"


@dataclass(frozen=True)
class NewToken:
    id: int
    person: str
    token: str


def create(ctx: Ctx, *, person: str, name: str = "") -> NewToken:
    if ctx.process.person(person) is None:
        known = ", ".join(sorted(ctx.process.spec.people))
        raise InvalidInput("person", f"{person!r} is not in the process file (known: {known})")
    secret = new_secret(PREFIX)
    row = ApiToken(
        person=person,
        name=name,
        token_hash=secret.digest,
        prefix=secret.shown_prefix,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return NewToken(row.id, person, secret.value)


def live_token(session: Session, token: str) -> ApiToken | None:
    """The row of a token that is not revoked, or None."""
    if not token.startswith(PREFIX):
        return None
    return session.scalars(
        select(ApiToken).where(ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()


def authenticate(session: Session, token: str) -> str | None:
    """The person a live token belongs to, or None."""
    row = live_token(session, token)
    return row.person if row else None


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)).all())


def revoke(ctx: Ctx, token_id: int, *, at: datetime | None = None) -> None:
    missing = f"no live token with id {token_id}"
    result = ctx.session.execute(
        update(ApiToken)
        .where(ApiToken.id == possible_id(token_id, missing), ApiToken.revoked_at.is_(None))
        .values(revoked_at=at or ctx.now)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(missing)
    # the console sessions signed in with it end with it
    ctx.session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_id == token_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=at or ctx.now)
    )
