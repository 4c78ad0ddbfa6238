"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured), a fake clock.

``ESCALATOR_TEST_DATABASE_URL`` turns on the PostgreSQL runs; ``ESCALATOR_TEST_STRICT=1``
turns every "skipped for want of a service, browser or peer" into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import create_engine, text

from escalator.api.server import create_app
from escalator.app import Services, build
from escalator.config.settings import Settings
from escalator.process.core import integrations, tokens
from escalator.store import migrate
from escalator.store.db import normalize_url
from tests.fakes import FakeClock
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack
from tests.fakes.sns import FakeSns

# tests never assert timings: a property test on a busy 2-core machine is not a failure
settings.register_profile("escalator", deadline=None)
settings.load_profile("escalator")

PG_URL = os.environ.get("ESCALATOR_TEST_DATABASE_URL", "")
STRICT = os.environ.get("ESCALATOR_TEST_STRICT") == "1"


def need(condition: object, reason: str) -> None:
    """Skip (or, under ESCALATOR_TEST_STRICT=1, fail) when ``condition`` is false."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"ESCALATOR_TEST_STRICT=1 and {reason}")
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    need(PG_URL, "PostgreSQL tests skipped: set ESCALATOR_TEST_DATABASE_URL=postgresql+psycopg://…")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/escalator.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_services(clock: FakeClock) -> Iterator[Callable[..., Services]]:
    made: list[Services] = []

    def make(database_url: str, **settings: object) -> Services:
        svc = build(Settings(database_url=database_url, **settings), clock=clock)  # type: ignore[arg-type]
        migrate.upgrade(svc.db)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.db.dispose()


@pytest.fixture
def svc(make_services: Callable[..., Services], database_url: str) -> Services:
    return make_services(database_url)


@pytest.fixture
def client(svc: Services) -> Iterator[TestClient]:
    with TestClient(create_app(svc, run_worker=False)) as test_client:
        yield test_client


@pytest.fixture
def token_for(svc: Services) -> Callable[[str], str]:
    def make(person: str) -> str:
        with svc.unit_of_work("test") as ctx:
            return tokens.create(ctx, person=person).token

    return make


@pytest.fixture
def console(
    svc: Services, token_for: Callable[[str], str]
) -> Iterator[Callable[[str], TestClient]]:
    """A signed-in console per person: ``console("noah")`` is a client with noah's session."""
    clients: list[TestClient] = []

    def as_(person: str) -> TestClient:
        client = TestClient(create_app(svc, run_worker=False)).__enter__()
        clients.append(client)
        client.post("/login", data={"token": token_for(person)})
        return client

    yield as_
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def auth(token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    def headers(person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(person)}"}

    return headers


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty()
    yield fake
    fake.close()


@pytest.fixture
def sns() -> Iterator[FakeSns]:
    fake = FakeSns()
    yield fake
    fake.close()


@pytest.fixture
def wired(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    sns: FakeSns,
) -> Services:
    """Services with Slack, PagerDuty and SNS pointed at local fakes."""
    return make_services(
        database_url,
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
        sns_cert_url_pattern=sns.pattern,
    )


@pytest.fixture
def wired_client(wired: Services) -> Iterator[TestClient]:
    with TestClient(create_app(wired, run_worker=False)) as test_client:
        yield test_client


@pytest.fixture
def integration(wired: Services) -> Callable[[str], str]:
    """Create an integration of a kind; returns its secret."""

    def make(kind: str, name: str | None = None) -> str:
        with wired.unit_of_work("dinesh") as ctx:
            return integrations.create(
                ctx, kind=kind, name=name or f"{kind}-{uuid.uuid4().hex[:6]}"
            )[1]

    return make
