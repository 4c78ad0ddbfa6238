"""allocate_long_term with JIRA: the real ``jira`` client against a fake JIRA Agile server.
An unknown or closed sprint is refused with the reason and nothing stored; a future sprint
gets the engineering ticket, linked to the MCT ticket and moved into it; the sprint's end
is the incident's clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.remediate import council
from escalator.store.models import CouncilDecision
from tests.fakes.jira import TOKEN, USER, FakeJira

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    fake.add_sprint(37, "Sprint 47", "closed", "2026-10-30T17:00:00.000Z")
    fake.add_sprint(72, "Sprint 49", "future", "2026-11-27T17:00:00.000Z")
    fake.add_sprint(73, "Sprint 50", "future")  # not planned yet: no dates
    yield fake
    fake.close()


@pytest.fixture
def jira_api(
    make_services: Callable[..., Services], database_url: str, jira: FakeJira
) -> Iterator[tuple[Services, TestClient]]:
    svc = make_services(database_url, jira_url=jira.url, jira_user=USER, jira_token=TOKEN)
    with TestClient(create_app(svc, run_worker=False)) as client:
        yield svc, client


def test_a_sprint_allocation_files_links_and_moves_the_engineering_ticket(
    jira_api: tuple[Services, TestClient], jira: FakeJira, auth: Auth
) -> None:
    svc, api = jira_api
    with svc.unit_of_work("dinesh") as ctx:
        key = opening.open_incident(
            ctx, title="slow quotes", source="customer", channel="phone"
        ).key
    with svc.unit_of_work("dinesh") as ctx:
        council.bring(ctx, key, note="needs a redesign")
    svc.worker().run_once()
    assert "MCT-1" in jira.issues
    url = f"/api/v1/incidents/{key}/council/decisions"
    decision = {"kind": "allocate_long_term", "reasons": "a redesign", "engineers": ["vijay"]}

    unknown = api.post(url, json={**decision, "sprint": "Sprint 99"}, headers=auth("raja"))
    assert unknown.status_code == 422
    assert (
        "no sprint 'Sprint 99'" in unknown.json()["detail"]
        and "Sprint 49" in unknown.json()["detail"]
    )
    closed = api.post(url, json={**decision, "sprint": "Sprint 47"}, headers=auth("raja"))
    assert closed.status_code == 422 and "is closed" in closed.json()["detail"]
    undated = api.post(url, json={**decision, "sprint": "Sprint 50"}, headers=auth("raja"))
    assert undated.status_code == 422 and "no end date" in undated.json()["detail"]
    with svc.db.read() as session:
        assert session.query(CouncilDecision).count() == 0

    made = api.post(url, json={**decision, "sprint": "Sprint 49"}, headers=auth("raja"))
    assert made.status_code == 201, made.text
    assert made.json()["due_at"].startswith("2026-11-27T17:00"), "the sprint's end is the clock"
    svc.worker().run_once()
    [eng] = [k for k in jira.issues if k.startswith("ENG-")]
    assert jira.in_sprint == {72: [eng]}
    assert [
        (link["type"]["name"], {link["inwardIssue"]["key"], link["outwardIssue"]["key"]})
        for link in jira.issue_links
    ] == [("Relates", {eng, "MCT-1"})]
    assert any("Engineering Council" in c for c in jira.comments["MCT-1"]), "the MCT ticket says"
