"""Integrations: the sources allowed to post to intake, each with its own secret.

The secret is shown once and kept as a SHA-256; revoking one stops its posts at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound, possible_id
from escalator.process.core.secrets import digest, new_secret
from escalator.store.models import Integration


class Revoked(Exception):
    """The integration's secret no longer works."""


KINDS = ("alertmanager", "cloudwatch", "grafana", "generic", "forum", "changes")
PREFIX = "esi_"


@dataclass(frozen=True)
class Caller:
    """Who is posting to intake: an integration that authenticated."""

    id: int
    kind: str
    name: str

    @property
    def actor(self) -> str:
        return f"integration:{self.name}"


def create(ctx: Ctx, *, kind: str, name: str) -> tuple[Integration, str]:
    if kind not in KINDS:
        raise InvalidInput("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name", "give the integration a name of 1 to 100 characters")
    secret = new_secret(PREFIX)
    row = Integration(
        kind=kind,
        name=name,
        secret_hash=secret.digest,
        prefix=secret.shown_prefix,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(row)
            ctx.session.flush()
    except IntegrityError as exc:
        raise InvalidInput("name", f"an integration named {name!r} exists already") from exc
    return row, secret.value


def intake_url(base: str, kind: str, secret: str) -> str:
    return f"{base.rstrip('/')}/api/v1/intake/{kind}?token={secret}"


def list_all(session: Session) -> list[Integration]:
    return list(session.scalars(select(Integration).order_by(Integration.id)).all())


def revoke(ctx: Ctx, integration_id: int) -> Integration:
    missing = f"no live integration with id {integration_id}"
    row = ctx.session.get(Integration, possible_id(integration_id, missing))
    if row is None or row.revoked_at is not None:
        raise NotFound(missing)
    row.revoked_at = ctx.now
    return row


def live(session: Session, ids: set[int]) -> set[int]:
    """Which of ``ids`` are integrations that are not revoked."""
    if not ids:
        return set()
    query = select(Integration.id).where(Integration.id.in_(ids), Integration.revoked_at.is_(None))
    return set(session.scalars(query))


def require_live(ctx: Ctx, caller: Caller) -> None:
    """Inside the transaction that acts for ``caller``: refuse if it was revoked meanwhile."""
    if caller.id not in live(ctx.session, {caller.id}):
        raise Revoked(f"the integration {caller.name!r} was revoked")


def authenticate(session: Session, secret: str) -> Caller | None:
    if not secret.startswith(PREFIX):
        return None
    row = session.scalars(
        select(Integration).where(
            Integration.secret_hash == digest(secret), Integration.revoked_at.is_(None)
        )
    ).one_or_none()
    return Caller(row.id, row.kind, row.name) if row else None
