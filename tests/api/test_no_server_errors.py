"""Input that used to answer 500 with a plain-text body gets a 4xx problem+json naming what to
fix, on SQLite and PostgreSQL (whose integers stop at 2^63 - 1 and whose text refuses NUL)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalator.app import Services
from escalator.integrations.inbound.common import MAX_JSON_DEPTH
from escalator.store.models import Alert, Incident, IncidentLink
from tests.fakes.sns import FakeSns

PROBLEM = "application/problem+json"
Auth = Callable[[str], dict[str, str]]
HUGE = "99999999999999999999"  # past 2^63
FAR = ["9999-12-31T23:00:00-14:00", "0001-01-01T01:00:00+14:00", "9999-12-31T00:00:00Z"]


def problem_of(response: object, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined, no-any-return]


def report(client: TestClient, auth: Auth, title: str = "Prices show $0") -> str:
    response = client.post("/api/v1/incidents", json={"title": title}, headers=auth("dinesh"))
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


@pytest.mark.parametrize("kind", ["alertmanager", "grafana", "generic", "cloudwatch", "forum"])
def test_json_nested_a_thousand_deep_gets_400_naming_the_limit_on_every_intake_kind(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str], kind: str
) -> None:
    secret = integration(kind)
    for deep in ("[" * 1000 + "]" * 1000, '{"alerts":' * 100 + "[]" + "}" * 100):
        response = wired_client.post(
            f"/api/v1/intake/{kind}?token={secret}",
            content=deep,
            headers={"Content-Type": "application/json"},
        )
        assert f"within {MAX_JSON_DEPTH} levels" in problem_of(response, 400)["detail"]
    with wired.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0


def test_json_nested_a_thousand_deep_in_an_api_body_gets_400_naming_the_limit(
    client: TestClient, auth: Auth
) -> None:
    response = client.post(
        "/api/v1/incidents",
        content='{"title": ' + "[" * 1000 + "]" * 1000 + "}",
        headers={**auth("dinesh"), "Content-Type": "application/json"},
    )
    assert f"within {MAX_JSON_DEPTH} levels" in problem_of(response, 400)["detail"]


def test_a_signed_alarm_whose_dimensions_are_a_number_gets_422_naming_the_field(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str], sns: FakeSns
) -> None:
    envelope = sns.alarm("ALARM")
    alarm = json.loads(envelope["Message"])
    alarm["Trigger"]["Dimensions"] = 5
    message = sns.sign({**envelope, "Message": json.dumps(alarm)})
    response = wired_client.post(
        f"/api/v1/intake/cloudwatch?token={integration('cloudwatch')}",
        content=json.dumps(message),
        headers={"Content-Type": "text/plain; charset=UTF-8"},
    )
    body = problem_of(response, 422)
    assert body["errors"] == [
        {"field": "Message.Trigger.Dimensions", "reason": body["errors"][0]["reason"]}
    ]
    assert "array" in body["errors"][0]["reason"]


def test_escalating_to_a_role_no_path_leads_to_gets_422_naming_the_roles(
    client: TestClient, auth: Auth
) -> None:
    key = report(client, auth)
    response = client.post(
        f"/api/v1/incidents/{key}/escalate", json={"role": "first_tier"}, headers=auth("dinesh")
    )
    body = problem_of(response, 422)
    assert body["errors"][0]["field"] == "role"
    assert "no escalation path leads to 'first_tier'" in body["detail"]
    assert "support_manager, engineering_manager, on_call_engineer" in body["detail"]


@pytest.mark.parametrize("token", ["%C3%A9", "%E2%9C%93" * 8, "%00", ""])
def test_a_calendar_token_that_is_not_ascii_gets_404(client: TestClient, token: str) -> None:
    response = client.get(f"/calendar/rotation/on_call.ics?token={token}")
    assert "no calendar feed" in problem_of(response, 404)["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"/api/v1/integrations/{HUGE}"),
        ("GET", f"/api/v1/incidents?offset={HUGE}"),
        ("GET", f"/api/v1/incidents/INC-1/evidence/files/{HUGE}"),
        ("DELETE", f"/api/v1/rotations/on_call/overrides/{HUGE}"),
        ("DELETE", f"/api/v1/rotations/on_call/swaps/{HUGE}"),
        ("POST", f"/api/v1/messages/{HUGE}/retry"),
        ("POST", f"/api/v1/incidents/INC-1/playbooks/zero-prices/steps/{HUGE}"),
        ("GET", f"/api/v1/incidents/INC-{HUGE}"),
        ("DELETE", "/api/v1/integrations/-1"),
        # ids are 32-bit integers on PostgreSQL
        ("GET", f"/api/v1/incidents/INC-{2**31}"),
        ("DELETE", f"/api/v1/integrations/{2**31}"),
        ("POST", f"/api/v1/messages/{2**31}/retry"),
        ("GET", f"/api/v1/incidents/INC-1/evidence/files/{2**31}"),
        ("DELETE", f"/api/v1/sessions/{2**31}"),
    ],
)
def test_integers_past_two_to_the_63_get_404_or_422(
    client: TestClient, auth: Auth, method: str, path: str
) -> None:
    report(client, auth)
    response = client.request(method, path, headers=auth("raja"))
    problem_of(response, (404, 422))


def test_the_same_evidence_link_twice_is_kept_once(
    svc: Services, client: TestClient, auth: Auth
) -> None:
    key = report(client, auth)
    link = {"url": "https://logs.example/q?id=7", "title": "the error", "kind": "log"}
    first = client.post(
        f"/api/v1/incidents/{key}/evidence/links", json=link, headers=auth("dinesh")
    )
    again = client.post(
        f"/api/v1/incidents/{key}/evidence/links", json=link, headers=auth("dinesh")
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IncidentLink)) == 1
    timeline = client.get(f"/api/v1/incidents/{key}/timeline", headers=auth("dinesh")).json()
    assert [e["kind"] for e in timeline].count("evidence_added") == 1


def test_a_nul_in_an_alert_is_rejected_by_index_and_the_good_alert_beside_it_kept(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str]
) -> None:
    body = {"alerts": [{"title": "disk full\u0000"}, {"title": "disk nearly full"}]}
    response = wired_client.post(
        f"/api/v1/intake/generic?token={integration('generic')}", json=body
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    [rejected] = response.json()["rejected"]
    assert rejected["index"] == 0 and rejected["reason"].startswith("title: contains a NUL")
    with wired.db.read() as s:
        assert s.scalars(select(Alert.title)).all() == ["disk nearly full"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Prices\u0000 show $0"},
        {"title": "Prices", "caller": "Bob\ud800"},
    ],
)
def test_text_no_database_can_keep_gets_422_naming_the_field(
    svc: Services, client: TestClient, auth: Auth, body: dict
) -> None:
    response = client.post(
        "/api/v1/incidents",
        content=json.dumps(body),  # ensure_ascii: the NUL and the surrogate travel as escapes
        headers={**auth("dinesh"), "Content-Type": "application/json"},
    )
    [error] = problem_of(response, 422)["errors"]
    assert error["field"] in body and ("NUL" in error["reason"] or "surrogate" in error["reason"])
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0


@pytest.mark.parametrize("start", FAR)
def test_a_schedule_from_the_ends_of_the_calendar_gets_422(
    client: TestClient, auth: Auth, start: str
) -> None:
    response = client.get(
        "/api/v1/oncall/on_call_engineer/schedule",
        params={"start": start, "days": 366},
        headers=auth("raja"),
    )
    assert "give a time between 1970-01-01" in problem_of(response, 422)["detail"]


@pytest.mark.parametrize("moment", FAR)
def test_overrides_and_swaps_at_the_ends_of_the_calendar_get_422(
    client: TestClient, auth: Auth, moment: str
) -> None:
    override = {"person": "vijay", "start": moment, "end": "9999-12-31T23:59:00Z"}
    response = client.post(
        "/api/v1/rotations/on_call/overrides", json=override, headers=auth("raja")
    )
    assert problem_of(response, 422)["errors"][0]["field"] == "override"
    swap = {"first": moment, "second": "2026-11-20T12:00:00Z"}
    response = client.post("/api/v1/rotations/on_call/swaps", json=swap, headers=auth("raja"))
    assert problem_of(response, 422)["errors"][0]["field"] == "swap"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shift": "1000000000d"}, "shift"),
        ({"shift": "53w"}, "shift"),
        ({"start": "0001-01-01", "timezone": "Pacific/Kiritimati"}, "start"),
        ({"start": "9999-12-31"}, "start"),
        ({"timezone": "Europe/" + "x" * 300}, "timezone"),
    ],
)
def test_a_rotation_no_calendar_can_count_gets_422(
    client: TestClient, auth: Auth, change: dict, field: str
) -> None:
    rotation = {"members": ["vijay", "michael"], **change}
    response = client.put("/api/v1/rotations/on_call", json=rotation, headers=auth("raja"))
    assert problem_of(response, 422)["errors"][0]["field"] == field
