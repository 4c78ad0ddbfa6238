"""Request dependencies: the wired services, and the person behind the request's token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from escalator.app import Services
from escalator.process.core import tokens
from escalator.process.core.context import Ctx

_bearer = HTTPBearer(auto_error=False, description="An API token from `escalator token create`")


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]


def read_session(svc: ServicesDep) -> Iterator[Session]:
    with svc.db.read() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session, scope="function")]


def current_person(
    svc: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The person whose API token came with the request as a Bearer header (never the
    console's cookie: that opens console pages only)."""
    token = credentials.credentials if credentials else None
    if not token:
        raise HTTPException(
            401,
            "send an API token as 'Authorization: Bearer <token>'; "
            "create one with `escalator token create --person NAME`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with svc.db.read() as session:
        person = tokens.authenticate(session, token)
    if person is None:
        raise HTTPException(
            401, "the API token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    if svc.process.person(person) is None:
        raise HTTPException(403, f"{person} is no longer in the process file")
    return person


Person = Annotated[str, Depends(current_person)]


UnitOfWork = Callable[[], AbstractContextManager[Ctx]]


def unit_of_work(svc: ServicesDep, person: Person) -> UnitOfWork:
    """Opens write transactions attributed to the signed-in person. An endpoint runs its use
    case inside ``with work() as ctx:`` and returns after the block, so its 2xx leaves only
    once the change is committed and visible to the next request. The transaction lives in
    the endpoint's one thread: on SQLite, a request holding the write turn never needs a
    second thread from the pool that the requests waiting for the turn may have filled."""
    return partial(svc.unit_of_work, person)


Work = Annotated[UnitOfWork, Depends(unit_of_work)]


def looking(svc: ServicesDep, person: Person) -> Iterator[Ctx]:
    """A read-only transaction for the use cases' questions (who is on call, schedules)."""
    with svc.looking(person) as ctx:
        yield ctx


Look = Annotated[Ctx, Depends(looking, scope="function")]
