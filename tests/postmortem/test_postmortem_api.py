"""POST MORTEM over HTTP: the post-mortem, action items, drafts, the close guard, the review,
the weekly report in every format, and /metrics."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from escalator.app import Services
from tests.fakes import FakeClock

Auth = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"


def resolved_report(
    client: TestClient, auth: Auth, title: str = "Prices show $0 for ACME", caller: str = "Bob"
) -> str:
    """A phoned-in report, resolved. Without a caller there is no customer to tell."""
    body = {"title": title, "caller": caller} if caller else {"title": title}
    opened = client.post("/api/v1/incidents", json=body, headers=auth("santhosh"))
    key = opened.json()["key"]
    assert client.post(f"/api/v1/incidents/{key}/resolve", headers=auth("santhosh")).is_success
    return key


def test_a_post_mortem_is_written_reviewed_and_the_incident_closed(
    pm_client: TestClient, auth: Auth, clock: FakeClock
) -> None:
    api, dinesh, santhosh = pm_client, auth("dinesh"), auth("santhosh")
    key = resolved_report(api, auth)
    started = api.get(f"/api/v1/incidents/{key}/postmortem", headers=dinesh).json()
    assert (started["state"], started["owner"], started["detected_by"]) == (
        "draft",
        "santhosh",
        "customer",
    )
    assert started["customer_first"] is True
    assert started["change_events"] == [], "REMEDIATE's changes before it opened: none yet"
    assert [e["kind"] for e in started["timeline"]][:2] == ["opened", "assigned"]
    assert started["missing"] == ["root cause", "what went well", "what didn't go well"]

    closing = api.post(f"/api/v1/incidents/{key}/close", headers=dinesh)
    assert closing.status_code == 422 and closing.headers["content-type"] == PROBLEM
    detail = closing.json()["detail"]
    assert "cannot be closed: its post-mortem has not been reviewed" in detail
    assert "root cause" in detail
    # every stage's reason at once: COMMUNICATE's too, for Bob who phoned
    assert "Bob was never told it was resolved" in detail

    bad = api.put(
        f"/api/v1/incidents/{key}/postmortem",
        json={"root_cause": "gremlins", "went_well": "quick"},
        headers=santhosh,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "root_cause"
    assert "unknown root cause 'gremlins': one of capacity, config_change" in bad.json()["detail"]
    assert api.get(f"/api/v1/incidents/{key}/postmortem", headers=dinesh).json()["went_well"] == ""
    noah = api.put(
        f"/api/v1/incidents/{key}/postmortem", json={"went_well": "x"}, headers=auth("noah")
    )
    assert noah.status_code == 403 and "its owner santhosh may" in noah.json()["detail"]
    picked = api.put(
        f"/api/v1/incidents/{key}/postmortem",
        json={"trigger_change": "deploy-42"},
        headers=santhosh,
    )
    assert picked.status_code == 422 and "no change 'deploy-42'" in picked.json()["detail"]
    # a change told just before it opened is one to pick from (REMEDIATE's change events)
    told = api.post(
        "/api/v1/changes",
        json={"summary": "deploy 42: cache TTL 1h", "at": clock.now().isoformat()},
        headers=dinesh,
    )
    assert told.status_code == 201, told.text
    choices = api.get(f"/api/v1/incidents/{key}/postmortem", headers=dinesh).json()
    assert [c["summary"] for c in choices["change_events"]] == ["deploy 42: cache TTL 1h"]
    picked = api.put(
        f"/api/v1/incidents/{key}/postmortem",
        json={"trigger_change": str(told.json()["id"])},
        headers=santhosh,
    )
    assert picked.status_code == 200, picked.text
    assert picked.json()["trigger_change"]["summary"] == "deploy 42: cache TTL 1h"

    written = api.put(
        f"/api/v1/incidents/{key}/postmortem",
        json={
            "root_cause": "config_change",
            "factors": ["cache TTL too long", " "],
            "service": "pricing",
            "went_well": "found in minutes",
            "went_badly": "the customer told us",
        },
        headers=santhosh,
    ).json()
    assert written["root_cause_label"] == "A configuration change"
    assert written["factors"] == ["cache TTL too long"] and written["missing"] == []
    assert (
        api.post(f"/api/v1/incidents/{key}/postmortem/reviewed", headers=santhosh).status_code
        == 403
    )

    # action items: without owner or due date, refused with the reasons; a good one kept
    empty = api.post(
        f"/api/v1/incidents/{key}/action-items",
        json={"kind": "new_metric", "title": "Zero-price counter"},
        headers=santhosh,
    )
    assert empty.status_code == 422
    assert empty.json()["detail"] == (
        "owner: every action item needs an owner: a person of the process; "
        "due: every action item needs a due date, like 2026-12-04"
    )
    threshold = api.post(
        f"/api/v1/incidents/{key}/action-items",
        json={
            "kind": "alarm_threshold",
            "title": "Alarm sooner on stale prices",
            "owner": "vijay",
            "due": "2026-11-13",
            "details": {"alarm": "PriceSyncLag", "direction": "down", "from": "10", "to": "20"},
        },
        headers=santhosh,
    )
    assert (
        threshold.status_code == 422 and "10 → 20 goes up, not down" in threshold.json()["detail"]
    )
    added = api.post(
        f"/api/v1/incidents/{key}/action-items",
        json={
            "kind": "new_metric",
            "title": "Zero-price counter",
            "owner": "vijay",
            "due": "2026-11-13",
            "details": {"metric": "zero_prices_total", "service": "pricing"},
            "jira": "MCT-7",
        },
        headers=santhosh,
    )
    assert added.status_code == 201, added.text
    item = added.json()
    assert (item["due_at"], item["state"], item["jira"]) == (
        "2026-11-13T17:00:00Z",
        "open",
        "MCT-7",
    )
    listed = api.get("/api/v1/action-items?state=open", headers=dinesh).json()
    assert [i["id"] for i in listed] == [item["id"]]
    refused = api.patch(
        f"/api/v1/action-items/{item['id']}", json={"state": "wont_do"}, headers=auth("vijay")
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason"
    done = api.patch(
        f"/api/v1/action-items/{item['id']}", json={"state": "done"}, headers=auth("vijay")
    ).json()
    assert done["state"] == "done" and done["closed_by"] == "vijay"

    reviewed = api.post(f"/api/v1/incidents/{key}/postmortem/reviewed", headers=dinesh).json()
    assert reviewed["state"] == "reviewed" and reviewed["reviewed_by"] == "dinesh"
    waived = api.post(
        f"/api/v1/incidents/{key}/resolution-notice/waive",
        json={"reason": "Bob heard on the phone when he called back"},
        headers=dinesh,
    )
    assert waived.is_success, waived.text
    closed = api.post(f"/api/v1/incidents/{key}/close", headers=dinesh)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_a_manager_waives_the_post_mortem_with_a_reason(pm_client: TestClient, auth: Auth) -> None:
    key = resolved_report(pm_client, auth, "Test incident opened by mistake", caller="")
    dinesh = auth("dinesh")
    no_reason = pm_client.post(
        f"/api/v1/incidents/{key}/postmortem/waiver", json={"reason": " "}, headers=dinesh
    )
    assert no_reason.status_code == 422 and "needs its reason" in no_reason.json()["detail"]
    not_a_manager = pm_client.post(
        f"/api/v1/incidents/{key}/postmortem/waiver",
        json={"reason": "opened by mistake"},
        headers=auth("santhosh"),
    )
    assert not_a_manager.status_code == 403
    waived = pm_client.post(
        f"/api/v1/incidents/{key}/postmortem/waiver",
        json={"reason": "opened by mistake"},
        headers=dinesh,
    ).json()
    assert (waived["state"], waived["waiver"]) == ("waived", "opened by mistake")
    assert pm_client.post(f"/api/v1/incidents/{key}/close", headers=dinesh).status_code == 200


def test_a_draft_the_loader_refuses_is_not_written(
    pm_client: TestClient, auth: Auth, playbooks_dir: Path
) -> None:
    key = resolved_report(pm_client, auth, "Checkout fails after the release")
    santhosh = auth("santhosh")
    item = pm_client.post(
        f"/api/v1/incidents/{key}/action-items",
        json={
            "kind": "playbook_entry",
            "title": "Roll back a bad release",
            "owner": "raja",
            "due": "2026-11-20",
        },
        headers=santhosh,
    ).json()
    draft = item["draft"]
    assert draft["entry_id"] == "roll-back-a-bad-release"
    assert draft["match"]["sources"] == ["customer"]
    before = sorted(p.name for p in playbooks_dir.iterdir())
    pm_client.put(
        f"/api/v1/action-items/{item['id']}/draft",
        json={"match": {"alerts": [], "services": [], "sources": [], "keywords": []}},
        headers=santhosh,
    )
    refused = pm_client.post(f"/api/v1/action-items/{item['id']}/draft/publish", headers=santhosh)
    assert refused.status_code == 422
    assert "match: name alerts, services, sources or keywords" in refused.json()["detail"]
    taken = pm_client.put(
        f"/api/v1/action-items/{item['id']}/draft",
        json={"entry_id": "zero-prices", "match": {"keywords": ["release"]}},
        headers=santhosh,
    )
    assert taken.status_code == 200
    clash = pm_client.post(f"/api/v1/action-items/{item['id']}/draft/publish", headers=santhosh)
    assert clash.status_code == 422 and "exists already" in clash.json()["detail"]
    assert sorted(p.name for p in playbooks_dir.iterdir()) == before
    pm_client.put(
        f"/api/v1/action-items/{item['id']}/draft",
        json={"entry_id": "bad-release"},
        headers=santhosh,
    )
    published = pm_client.post(
        f"/api/v1/action-items/{item['id']}/draft/publish", headers=santhosh
    ).json()
    assert published["state"] == "done" and published["draft"]["path"].endswith("bad-release.md")
    assert (playbooks_dir / "bad-release.md").exists()


def test_the_weekly_report_in_every_format(
    pm_client: TestClient, auth: Auth, clock: FakeClock, pm: Services
) -> None:
    key = resolved_report(pm_client, auth)
    clock.advance(timedelta(hours=1))
    dinesh = auth("dinesh")

    def get(fmt: str, week: str = "2026-W45"):  # type: ignore[no-untyped-def]
        return pm_client.get(f"/api/v1/reports/weekly?week={week}&format={fmt}", headers=dinesh)

    as_json = get("json").json()
    assert as_json["week"] == "2026-W45" and as_json["incidents"]["this_week"] == 1
    assert as_json["findings"][0]["kind"] == "gap" and as_json["findings"][0]["incidents"] == [key]
    md = get("md")
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Weekly report 2026-W45")
    assert "Customer-update punctuality: 0 of 0 on time (—)" in md.text
    rows = list(csv.reader(io.StringIO(get("csv").text)))
    assert rows[0] == ["section", "figure", "label", "2026-W45", "2026-W44"]
    assert ["incidents", "opened", "", "1", "0"] in rows
    html = get("html")
    assert html.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    assert html.text.count('src="data:image/svg+xml;base64,') >= 6
    assert "http://" not in html.text.replace("http://www.w3.org", "")
    wrong = get("json", "2026-48")
    assert wrong.status_code == 422 and "ISO week like 2026-W48" in wrong.json()["detail"]
    assert json.loads(get("json").text) == as_json  # the same figures twice


def test_metrics_show_times_and_breaches_counted_as_they_happened(
    pm_client: TestClient, auth: Auth, clock: FakeClock, pm: Services
) -> None:
    opened = pm_client.post(
        "/api/v1/incidents", json={"title": "Checkout down"}, headers=auth("santhosh")
    ).json()["key"]
    clock.advance(timedelta(minutes=4))
    pm_client.post(f"/api/v1/incidents/{opened}/acknowledge", headers=auth("santhosh"))
    clock.advance(timedelta(minutes=30))
    pm.worker("w1").run_once()  # the triage clock runs out
    clock.advance(timedelta(minutes=26))
    pm_client.post(f"/api/v1/incidents/{opened}/resolve", headers=auth("santhosh"))
    text = pm_client.get("/metrics").text
    assert 'escalator_time_to_acknowledge_seconds_bucket{le="300.0"} 1.0' in text
    assert 'escalator_time_to_acknowledge_seconds_bucket{le="60.0"} 0.0' in text
    assert "escalator_time_to_acknowledge_seconds_sum 240.0" in text
    assert 'escalator_time_to_resolve_seconds_bucket{le="3600.0"} 1.0' in text
    assert "escalator_time_to_triage_seconds_count 0.0" in text
    assert 'escalator_clock_breaches_total{clock="triage"} 1.0' in text
    assert 'escalator_clock_breaches_total{clock="high_severity_resolution"} 0.0' in text
