"""An alarm from intake through the whole triage checklist to the Support Manager, over the
API, with the timeline showing each step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from escalator.app import Services
from tests.fakes import FakeClock

Auth = Callable[[str], dict[str, str]]


def test_an_alarm_through_triage_to_the_support_manager(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    auth: Auth,
    clock: FakeClock,
) -> None:
    santhosh = auth("santhosh")
    bug = wired_client.post(
        "/api/v1/known-bugs",
        json={
            "key": "BUG-77",
            "title": "Price sync stalls after catalogue import",
            "description": "sync worker deadlocks",
        },
        headers=santhosh,
    )
    assert bug.status_code == 201
    # a past incident of the same alert, already resolved
    secret = integration("alertmanager")
    lag = {
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "PriceSyncLag", "service": "pricing"},
                "annotations": {
                    "summary": "Price sync lag above 10 minutes",
                    "description": "price sync stalls; storefront prices stale",
                },
            }
        ]
    }
    wired_client.post(f"/api/v1/intake/alertmanager?token={secret}", json=lag)
    wired.worker().run_once()
    wired_client.post(
        "/api/v1/incidents/INC-1/resolve", json={"note": "restarted workers"}, headers=santhosh
    )

    clock.advance(timedelta(days=3))
    lag["alerts"][0]["labels"]["region"] = "eu-1"  # a new alert of the same kind
    assert (
        wired_client.post(f"/api/v1/intake/alertmanager?token={secret}", json=lag).status_code
        == 202
    )
    wired.worker().run_once()
    key = "INC-2"

    triage = wired_client.get(f"/api/v1/incidents/{key}/triage", headers=santhosh).json()
    assert triage["incident"]["owner_person"] == "santhosh", "the triager on duty is assigned"
    assert triage["report"]["what"] == "Price sync lag above 10 minutes"
    assert triage["report"]["where"].startswith("pricing")
    assert triage["ticket"]["key"] == "MCT-2" and triage["ticket"]["status"] == "Open"
    assert [p["entry"] for p in triage["playbooks"]] == ["price-sync-lag"]
    assert triage["due_at"] == (clock.now() + timedelta(minutes=30)).isoformat()
    assert (
        wired_client.get(f"/api/v1/incidents/{key}/related", headers=santhosh).json()
        == triage["related"]
    )
    related = {r["ref"]: r for r in triage["related"]}
    assert (
        "same alert" in related["INC-1"]["reasons"]
        or "same service (pricing)" in related["INC-1"]["reasons"]
    )
    assert any(reason.startswith("shared terms") for reason in related["INC-1"]["reasons"])
    assert "BUG-77" in related and related["BUG-77"]["kind"] == "bug"
    assert "MCT-1" in related, "the past incident's ticket"

    # 1. the five Ws, with evidence
    edited = wired_client.put(
        f"/api/v1/incidents/{key}/report",
        json={"who": "all storefronts in eu-1", "how": "sync worker queue grows"},
        headers=santhosh,
    )
    assert edited.status_code == 200
    link = wired_client.post(
        f"/api/v1/incidents/{key}/evidence/links",
        json={
            "url": "https://grafana.example.com/d/price-sync",
            "title": "queue depth",
            "kind": "graph",
        },
        headers=santhosh,
    )
    assert link.status_code == 201
    uploaded = wired_client.post(
        f"/api/v1/incidents/{key}/evidence/files",
        files={"file": ("sync.log", b"ERROR deadlock detected\n", "text/plain")},
        headers=santhosh,
    )
    assert uploaded.status_code == 201
    download = wired_client.get(
        f"/api/v1/incidents/{key}/evidence/files/{uploaded.json()['id']}", headers=santhosh
    )
    assert download.content == b"ERROR deadlock detected\n" and download.headers[
        "content-type"
    ].startswith("text/plain")
    # 3. link a related item
    assert (
        wired_client.post(
            f"/api/v1/incidents/{key}/related",
            json={"kind": "bug", "ref": "BUG-77"},
            headers=santhosh,
        ).status_code
        == 201
    )
    # 6. the playbook, step by step
    assert wired_client.post(
        f"/api/v1/incidents/{key}/playbooks/price-sync-lag/steps/0", headers=santhosh
    ).json()["done"] == [0]
    assert wired_client.post(
        f"/api/v1/incidents/{key}/playbooks/price-sync-lag/steps/1", headers=santhosh
    ).json()["done"] == [0, 1]
    failed = wired_client.post(
        f"/api/v1/incidents/{key}/playbook-outcome",
        json={"outcome": "failed", "note": "lag keeps growing"},
        headers=santhosh,
    )
    assert failed.status_code == 200
    # 4 + 7. severity by the five questions; SEV2 meets the threshold: to the Support Manager
    verdict = wired_client.post(
        f"/api/v1/incidents/{key}/assessments",
        json={
            "users_affected": 400,
            "user_impact": "degraded",
            "business_impact": "losing_money",
            "stakeholder": "Jonathan",
        },
        headers=santhosh,
    ).json()
    assert (
        verdict["severity"] == "SEV1"
        and verdict["summary"] == "SEV1: company losing money + 400 users affected"
    )
    assert verdict["escalated_to"] == "support_manager"
    assert (verdict["incident"]["owner_role"], verdict["incident"]["owner_person"]) == (
        "support_manager",
        "dinesh",
    )

    timeline = wired_client.get(f"/api/v1/incidents/{key}/timeline", headers=auth("dinesh")).json()
    kinds = [e["kind"] for e in timeline]
    for step in (
        "opened",
        "assigned",
        "playbook_attached",
        "report_edited",
        "evidence_added",
        "linked",
        "playbook_step_done",
        "playbook_failed",
        "severity_assessed",
        "escalate",
    ):
        assert step in kinds, step
    assert kinds.index("severity_assessed") < kinds.index("escalate")
    escalation = next(e for e in timeline if e["kind"] == "escalate" and e["note"])
    assert escalation["note"] == "SEV1 meets the escalation threshold SEV2"
    wired.worker().run_once()
    clock.advance(timedelta(hours=1))
    wired.worker().run_once()
    kinds = [
        e["kind"]
        for e in wired_client.get(f"/api/v1/incidents/{key}/timeline", headers=santhosh).json()
    ]
    assert "triage_breached" not in kinds and "triage_warning" not in kinds, (
        "triage finished in time"
    )


def test_below_the_threshold_first_tier_keeps_it_and_says_why(
    client: TestClient,
    auth: Auth,
) -> None:
    santhosh = auth("santhosh")
    client.post(
        "/api/v1/incidents",
        json={"title": "Tooltip typo on pricing page", "account": "globex"},
        headers=santhosh,
    )
    verdict = client.post(
        "/api/v1/incidents/INC-1/assessments",
        json={"users_affected": 3, "user_impact": "nice_to_have", "business_impact": "none"},
        headers=santhosh,
    ).json()
    assert verdict["severity"] == "SEV4" and verdict["escalated_to"] is None
    timeline = client.get("/api/v1/incidents/INC-1/timeline", headers=santhosh).json()
    assert timeline[-1]["kind"] == "kept_by_first_tier"
    assert "below the escalation threshold SEV2" in timeline[-1]["note"]
    again = client.post(
        "/api/v1/incidents/INC-1/assessments",
        json={"users_affected": 3, "user_impact": "blocked", "business_impact": "none"},
        headers=santhosh,
    ).json()
    assert again["severity"] == "SEV2", "a re-assessment is kept and counts"
    triage = client.get("/api/v1/incidents/INC-1/triage", headers=santhosh).json()
    assert [a["severity"] for a in triage["assessments"]] == ["SEV4", "SEV2"]


def test_another_triager_claims_it_and_bad_input_is_named(client: TestClient, auth: Auth) -> None:
    client.post("/api/v1/incidents", json={"title": "x"}, headers=auth("santhosh"))
    claimed = client.post("/api/v1/incidents/INC-1/claim", headers=auth("dinesh"))
    assert claimed.json()["owner_person"] == "dinesh"
    assert client.post("/api/v1/incidents/INC-1/claim", headers=auth("noah")).status_code == 422
    bad = client.post(
        "/api/v1/incidents/INC-1/assessments",
        json={"users_affected": -1, "user_impact": "annoyed", "business_impact": "none"},
        headers=auth("dinesh"),
    )
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {
        "users_affected",
        "user_impact",
    }
    empty = client.post(
        "/api/v1/incidents/INC-1/evidence/files",
        files={"file": ("a.log", b"", "text/plain")},
        headers=auth("dinesh"),
    )
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    link = client.post(
        "/api/v1/incidents/INC-1/evidence/links", json={"url": "ftp://x"}, headers=auth("dinesh")
    )
    assert link.status_code == 422
    assert (
        client.put(
            "/api/v1/incidents/INC-1/report", json={"why": "?"}, headers=auth("dinesh")
        ).status_code
        == 422
    )
