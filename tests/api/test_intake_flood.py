"""Flood control at intake: an integration past its bucket gets 429 and the others go on."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import integrations
from escalator.store.models import Alert, Integration
from tests.escalation.conftest import write_process
from tests.fakes import FakeClock

PROBLEM = "application/problem+json"
# a quarter of a post a second: a post refused on an empty bucket waits four seconds
LIMITS = {"per_second": 0.25, "burst": 3, "integrations": {"big-prometheus": {"burst": 10}}}


@pytest.fixture
def flood_svc(
    make_services: Callable[..., Services], database_url: str, tmp_path: Path
) -> Services:
    def limit(spec: dict) -> None:
        spec["intake"]["rate_limit"] = LIMITS

    return make_services(database_url, process_file=write_process(tmp_path / "p.yaml", limit))


@pytest.fixture
def flood_client(flood_svc: Services) -> Iterator[TestClient]:
    with TestClient(create_app(flood_svc, run_worker=False)) as client:
        yield client


@pytest.fixture
def secret_for(flood_svc: Services) -> Callable[[str], str]:
    def make(name: str) -> str:
        with flood_svc.unit_of_work("dinesh") as ctx:
            return integrations.create(ctx, kind="generic", name=name)[1]

    return make


def post(client: TestClient, secret: str, **body: object) -> object:
    alert = {"title": f"disk full {uuid.uuid4().hex[:8]}", "service": "pricing", **body}
    return client.post(
        "/api/v1/intake/generic", json=alert, headers={"Authorization": f"Bearer {secret}"}
    )


def alerts_of(svc: Services, name: str) -> int:
    with svc.db.read() as s:
        row = s.scalar(select(Integration).where(Integration.name == name))
        assert row is not None
        return s.scalar(select(func.count()).where(Alert.integration_id == row.id)) or 0


def test_a_flooding_integration_gets_429_while_another_still_gets_202(
    flood_svc: Services,
    flood_client: TestClient,
    secret_for: Callable[[str], str],
    clock: FakeClock,
) -> None:
    flooder, quiet = secret_for("noisy-script"), secret_for("prod-alertmanager")
    assert [post(flood_client, flooder).status_code for _ in range(3)] == [202] * 3
    refused = post(flood_client, flooder)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["Retry-After"] == "4", "an empty bucket at 0.25/s: four seconds"
    assert refused.json()["retry_after"] == 4
    detail = refused.json()["detail"]
    assert "'noisy-script'" in detail and "intake.rate_limit" in detail
    assert alerts_of(flood_svc, "noisy-script") == 3, "a refused post stores nothing"

    assert post(flood_client, quiet).status_code == 202, "the others are not held up"
    assert alerts_of(flood_svc, "prod-alertmanager") == 1

    clock.advance(timedelta(seconds=2))  # half way: still no whole token
    again = post(flood_client, flooder)
    assert again.status_code == 429 and again.headers["Retry-After"] == "2"
    clock.advance(timedelta(seconds=2))
    assert post(flood_client, flooder).status_code == 202, "let through once time has passed"
    assert post(flood_client, flooder).status_code == 429
    clock.advance(timedelta(hours=1))  # a long pause refills the burst, no more
    assert [post(flood_client, flooder).status_code for _ in range(4)] == [202] * 3 + [429]
    assert alerts_of(flood_svc, "noisy-script") == 7


def test_the_limit_is_checked_before_the_body_is_read(
    flood_svc: Services, flood_client: TestClient, secret_for: Callable[[str], str]
) -> None:
    flooder = secret_for("noisy-script")
    for _ in range(3):
        post(flood_client, flooder)
    for body, content_type in ((b"{not json", "application/json"), (b"x" * 2**21, "text/csv")):
        response = flood_client.post(
            "/api/v1/intake/generic",
            content=body,
            headers={"Authorization": f"Bearer {flooder}", "Content-Type": content_type},
        )
        assert response.status_code == 429, "refused before parsing, size or content type"
    wrong = flood_client.post("/api/v1/intake/generic", json={}, headers={"Authorization": "x"})
    assert wrong.status_code == 401, "a wrong secret is refused as before, and costs nothing"


def test_an_integration_named_in_the_process_file_gets_its_own_burst(
    flood_client: TestClient, secret_for: Callable[[str], str]
) -> None:
    big = secret_for("big-prometheus")
    codes = [post(flood_client, big).status_code for _ in range(10)]
    assert codes == [202] * 10
    refused = post(flood_client, big)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "4", "the rate it does not name is the general one"
