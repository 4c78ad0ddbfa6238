from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services, build
from escalator.config.settings import Settings
from escalator.process.core import queries

Auth = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"


def report(client: TestClient, auth: Auth, **body: object) -> dict:
    payload = {"title": "Prices show $0 for ACME", "caller": "Bob", "account": "acme", **body}
    response = client.post("/api/v1/incidents", json=payload, headers=auth("santhosh"))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_report_by_phone_is_opened_attributed_and_on_the_timeline(
    client: TestClient, auth: Auth
) -> None:
    created = report(client, auth)
    assert created["key"] == "INC-1"
    assert (created["status"], created["stage"], created["source"], created["channel"]) == (
        "open",
        "alert",
        "customer",
        "phone",
    )
    assert created["reporter"] == "santhosh"
    assert created["details"] == {
        "caller": "Bob",
        "account": "acme",
        "account_name": "ACME Corp",
        "account_tier": "key",
    }
    headers = auth("dinesh")
    assert (
        client.get("/api/v1/incidents/INC-1", headers=headers).json()["title"] == created["title"]
    )
    timeline = client.get("/api/v1/incidents/INC-1/timeline", headers=headers).json()
    assert [(e["actor"], e["kind"]) for e in timeline][:2] == [
        ("santhosh", "opened"),
        ("santhosh", "assigned"),
    ]


def test_lifecycle_over_http_records_from_and_to(client: TestClient, auth: Auth) -> None:
    report(client, auth)
    headers = auth("dinesh")
    assert (
        client.post("/api/v1/incidents/INC-1/acknowledge", headers=headers).json()["status"]
        == "acknowledged"
    )
    resolved = client.post(
        "/api/v1/incidents/INC-1/resolve", json={"note": "fixed"}, headers=headers
    )
    assert resolved.json()["status"] == "resolved"
    events = client.get("/api/v1/incidents/INC-1/timeline", headers=headers).json()
    status = next(e for e in events if e["kind"] == "resolve" and e["field"] == "status")
    assert {
        "actor": "dinesh",
        "kind": "resolve",
        "field": "status",
        "from": "acknowledged",
        "to": "resolved",
    }.items() <= status.items()
    assert status["note"] == "fixed"


def test_illegal_transitions_get_409_naming_the_state(client: TestClient, auth: Auth) -> None:
    report(client, auth)
    headers = auth("dinesh")
    client.post("/api/v1/incidents/INC-1/resolve", headers=headers)
    again = client.post("/api/v1/incidents/INC-1/resolve", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["current_status"] == "resolved"
    assert "cannot resolve an incident that is resolved" in again.json()["detail"]
    escalate = client.post(
        "/api/v1/incidents/INC-1/escalate", json={"role": "on_call_engineer"}, headers=headers
    )
    assert escalate.status_code == 409


def test_missing_or_bad_tokens_get_401(client: TestClient, auth: Auth) -> None:
    missing = client.get("/api/v1/incidents")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM
    assert "escalator token create" in missing.json()["detail"]
    bad = client.get("/api/v1/incidents", headers={"Authorization": "Bearer esc_nope"})
    assert bad.status_code == 401
    assert client.post("/api/v1/incidents", json={"title": "x"}).status_code == 401


def test_roles_are_checked_and_403_names_the_role_required(client: TestClient, auth: Auth) -> None:
    report(client, auth)
    response = client.post(
        "/api/v1/incidents/INC-1/escalate", json={"role": "on_call_engineer"}, headers=auth("noah")
    )
    assert response.status_code == 403
    assert response.json()["required_roles"] == ["support_manager"]
    assert "needs the role support_manager" in response.json()["detail"]
    ok = client.post(
        "/api/v1/incidents/INC-1/escalate",
        json={"role": "support_manager"},
        headers=auth("santhosh"),
    )
    assert ok.json()["owner_person"] == "dinesh"


def test_bad_input_gets_422_naming_the_field_and_stores_nothing(
    client: TestClient, auth: Auth
) -> None:
    headers = auth("santhosh")
    response = client.post(
        "/api/v1/incidents", json={"title": "", "channel": "pigeon"}, headers=headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"title", "channel"}
    not_json = client.post(
        "/api/v1/incidents",
        content=b"{oops",
        headers={**headers, "content-type": "application/json"},
    )
    assert not_json.status_code == 400 and not_json.headers["content-type"] == PROBLEM
    assert not_json.json()["detail"].startswith("malformed JSON:")
    extra = client.post(
        "/api/v1/incidents", json={"title": "x", "severity": "SEV1"}, headers=headers
    )
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "severity"
    assert client.get("/api/v1/incidents", headers=headers).json()["total"] == 0


def test_unknown_incidents_get_404(client: TestClient, auth: Auth) -> None:
    response = client.get("/api/v1/incidents/INC-77", headers=auth("noah"))
    assert response.status_code == 404 and response.json()["detail"] == "no incident INC-77"


def test_list_filters_and_paginates(client: TestClient, auth: Auth) -> None:
    for n in range(5):
        report(client, auth, title=f"issue {n}")
    headers = auth("dinesh")
    client.post("/api/v1/incidents/INC-2/resolve", headers=headers)
    page = client.get("/api/v1/incidents?limit=2", headers=headers).json()
    assert [i["key"] for i in page["items"]] == ["INC-5", "INC-4"]
    assert (page["total"], page["next_offset"]) == (5, 2)
    last = client.get("/api/v1/incidents?limit=2&offset=4", headers=headers).json()
    assert [i["key"] for i in last["items"]] == ["INC-1"] and last["next_offset"] is None
    resolved = client.get("/api/v1/incidents?status=resolved", headers=headers).json()
    assert [i["key"] for i in resolved["items"]] == ["INC-2"]
    assert client.get("/api/v1/incidents?stage=postmortem", headers=headers).json()["total"] == 1
    assert client.get("/api/v1/incidents?status=sideways", headers=headers).status_code == 422
    assert client.get("/api/v1/incidents?limit=0", headers=headers).status_code == 422


def test_pages_by_key_and_counts_only_so_far(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        report(client, auth, title=f"issue {n}")
    headers = auth("dinesh")
    first = client.get("/api/v1/incidents?limit=2", headers=headers).json()
    assert first["next_before"] == "INC-4" and first["total_exact"] is True
    second = client.get("/api/v1/incidents?limit=2&before=INC-4", headers=headers).json()
    assert [i["key"] for i in second["items"]] == ["INC-3", "INC-2"]
    last = client.get("/api/v1/incidents?limit=2&before=INC-2", headers=headers).json()
    assert [i["key"] for i in last["items"]] == ["INC-1"] and last["next_before"] is None
    monkeypatch.setattr(queries, "COUNT_UP_TO", 3)
    capped = client.get("/api/v1/incidents", headers=headers).json()
    assert (capped["total"], capped["total_exact"], len(capped["items"])) == (3, False, 5)
    assert client.get("/api/v1/incidents?before=nope", headers=headers).status_code == 404


def test_health_readiness_metrics_and_docs(client: TestClient, auth: Auth, svc: Services) -> None:
    report(client, auth)
    assert client.get("/healthz").json() == {"status": "ok"}
    not_yet = client.get("/readyz")  # no worker has run: nothing would be paged
    assert not_yet.status_code == 503 and "no worker is running" in not_yet.json()["detail"]
    # the two console messages of the report (and, on PostgreSQL, the search-terms refresh)
    assert svc.worker("w1").round() == (2 + svc.db.is_postgres, None)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    metrics = client.get("/metrics").text
    assert 'escalator_incidents{status="open"} 1.0' in metrics
    # triage warning and deadline, 2 hand-offs, the caller's update reminder and overdue, the
    # weekly review (and on PostgreSQL the next search-terms refresh)
    assert f"escalator_timers_pending {7 + svc.db.is_postgres}.0" in metrics, metrics
    assert 'escalator_outbox_messages{state="pending"} 0.0' in metrics  # both went
    assert 'escalator_worker_progress_age_seconds{worker="w1"} 0.0' in metrics
    assert client.get("/docs").status_code == 200
    assert "/api/v1/incidents" in client.get("/openapi.json").json()["paths"]


def test_readyz_says_what_to_run_when_the_schema_is_behind(tmp_path: object) -> None:
    svc = build(Settings(database_url=f"sqlite:///{tmp_path}/new.db"))
    with TestClient(create_app(svc, run_worker=False)) as fresh:
        response = fresh.get("/readyz")
    assert response.status_code == 503
    assert "run `escalator migrate`" in response.json()["detail"]
