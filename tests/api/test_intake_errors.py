"""Bad input at intake: the right 4xx, a problem+json body naming the cause, nothing stored."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from escalator.app import Services
from escalator.store.models import Alert, Incident
from tests import payloads
from tests.fakes.sns import FakeSns

PROBLEM = "application/problem+json"
ALERT = {"alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}


def stored(svc: Services) -> int:
    with svc.db.read() as s:
        return (s.scalar(select(func.count()).select_from(Alert)) or 0) + (
            s.scalar(select(func.count()).select_from(Incident)) or 0
        )


@pytest.fixture
def am(integration: Callable[[str], str]) -> str:
    return integration("alertmanager")


def test_the_secret_may_come_as_bearer_basic_or_query(wired_client: TestClient, am: str) -> None:
    url = "/api/v1/intake/alertmanager"
    basic = base64.b64encode(f"sns:{am}".encode()).decode()
    assert (
        wired_client.post(url, json=ALERT, headers={"Authorization": f"Bearer {am}"}).status_code
        == 202
    )
    assert (
        wired_client.post(url, json=ALERT, headers={"Authorization": f"Basic {basic}"}).status_code
        == 202
    )
    assert wired_client.post(f"{url}?token={am}", json=ALERT).status_code == 202


@pytest.mark.parametrize(
    ("headers", "query", "status", "says"),
    [
        ({}, "", 401, "escalator integration add"),
        ({"Authorization": "Bearer esi_wrong"}, "", 401, "unknown or revoked"),
        ({}, "?token=nope", 401, "unknown or revoked"),
    ],
)
def test_missing_or_wrong_secrets_get_401(
    wired: Services, wired_client: TestClient, headers: dict, query: str, status: int, says: str
) -> None:
    response = wired_client.post(f"/api/v1/intake/alertmanager{query}", json=ALERT, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM and says in response.json()["detail"]
    assert stored(wired) == 0


def test_a_secret_of_another_kind_gets_403_naming_the_right_endpoint(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str]
) -> None:
    generic = integration("generic", "nagios")
    response = wired_client.post(
        "/api/v1/intake/alertmanager", json=ALERT, headers={"Authorization": f"Bearer {generic}"}
    )
    assert response.status_code == 403
    assert "post to /api/v1/intake/generic" in response.json()["detail"]


def test_revoked_integrations_are_refused(
    wired: Services, wired_client: TestClient, auth: Callable[[str], dict[str, str]], am: str
) -> None:
    listed = wired_client.get("/api/v1/integrations", headers=auth("dinesh")).json()
    revoked = wired_client.delete(f"/api/v1/integrations/{listed[0]['id']}", headers=auth("dinesh"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = wired_client.post(f"/api/v1/intake/alertmanager?token={am}", json=ALERT)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"{not json", "application/json", 400, "malformed JSON"),
        (b'{"alerts": [] }', "text/csv", 415, "Content-Type: application/json"),
        (b"[1, 2]", "application/json", 422, "'alerts' array"),
        (b'{"alerts": "all of them"}', "application/json", 422, "alerts: missing or not an array"),
        (b'{"alerts": [{"labels": {}}]}', "application/json", 422, "all 1 alerts were rejected"),
        (b'{"alerts": [], "truncatedAlerts": -1}', "application/json", 422, "truncatedAlerts"),
        (b'{"a": "\xc3\x28"}', "application/json", 400, "UTF-8"),
    ],
)
def test_bad_bodies_get_a_clear_4xx_and_store_nothing(
    wired: Services,
    wired_client: TestClient,
    am: str,
    body: bytes,
    content_type: str,
    status: int,
    says: str,
) -> None:
    response = wired_client.post(
        "/api/v1/intake/alertmanager",
        content=body,
        headers={"Authorization": f"Bearer {am}", "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert says in response.json()["detail"]
    assert stored(wired) == 0


def test_a_body_over_one_mebibyte_gets_413(
    wired: Services, wired_client: TestClient, am: str
) -> None:
    huge = json.dumps({"alerts": [{"labels": {"alertname": "x" * 1024}}] * 1100}).encode()
    assert len(huge) > 1024 * 1024
    response = wired_client.post(
        "/api/v1/intake/alertmanager",
        content=huge,
        headers={"Authorization": f"Bearer {am}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    assert stored(wired) == 0


def test_unknown_kinds_get_404(wired_client: TestClient, am: str) -> None:
    response = wired_client.post(f"/api/v1/intake/nagios?token={am}", json=ALERT)
    assert response.status_code == 404 and "kinds are" in response.json()["detail"]


def test_a_bad_alert_next_to_good_ones_is_named_and_the_good_ones_kept(
    wired: Services, wired_client: TestClient, am: str
) -> None:
    body = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "A"}},
            {"status": "exploded", "labels": {"alertname": "B"}},
            "not an alert",
            {"status": "firing", "labels": {"alertname": "C"}, "startsAt": "yesterday"},
            {"status": "firing", "labels": {"alertname": "D"}},
        ]
    }
    response = wired_client.post(f"/api/v1/intake/alertmanager?token={am}", json=body)
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert [r["index"] for r in response.json()["rejected"]] == [1, 2, 3]
    assert "'exploded' is not 'firing' or 'resolved'" in response.json()["rejected"][0]["reason"]
    with wired.db.read() as s:
        assert sorted(s.scalars(select(Alert.title)).all()) == ["A", "D"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        payloads.json_values, payloads.alertmanager, payloads.generic, payloads.forum_generic
    ),
    kind=st.sampled_from(["alertmanager", "grafana", "generic", "forum"]),
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_payload_makes_intake_fail_with_a_5xx(
    wired_client: TestClient, integration: Callable[[str], str], body: object, kind: str
) -> None:
    secret = integration(kind)
    response = wired_client.post(
        f"/api/v1/intake/{kind}?token={secret}",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text
    assert response.status_code in (202, 400, 422)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message=payloads.cloudwatch_message)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_signed_alarm_makes_intake_fail_with_a_5xx(
    wired_client: TestClient, integration: Callable[[str], str], sns: FakeSns, message: str
) -> None:
    envelope = sns.sign({**sns.alarm("ALARM"), "Message": message})
    response = wired_client.post(
        f"/api/v1/intake/cloudwatch?token={integration('cloudwatch')}",
        content=json.dumps(envelope),
        headers={"Content-Type": "text/plain; charset=UTF-8"},
    )
    assert response.status_code in (202, 422), response.text
