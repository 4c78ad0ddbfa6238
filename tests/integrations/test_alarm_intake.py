"""Alarm intake end to end: real payloads posted to the API, the worker deciding, and the
fake PagerDuty and Slack receiving what a team would see."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalator.app import Services
from escalator.process.core import incidents as moves
from escalator.process.core import queries
from escalator.store.models import Alert, Incident
from tests.fakes import FakeClock
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack

WIRE = Path(__file__).parents[1] / "wire"


def wire(name: str) -> dict:
    return json.loads((WIRE / name).read_text())


def post(client: TestClient, kind: str, secret: str, body: object, **kw: object) -> object:
    return client.post(
        f"/api/v1/intake/{kind}", json=body, headers={"Authorization": f"Bearer {secret}"}, **kw
    )


def incidents(svc: Services) -> list[Incident]:
    with svc.db.read() as s:
        return queries.list_incidents(s, limit=500).items


def test_alertmanager_fired_then_resolved_pages_posts_and_resolves(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    clock: FakeClock,
) -> None:
    secret = integration("alertmanager")
    response = post(wired_client, "alertmanager", secret, wire("alertmanager_webhook_v4.json"))
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "rejected": [], "truncated": 0}
    assert incidents(wired) == [], "intake only stores; the worker decides"

    worker = wired.worker()
    worker.run_once()
    [incident] = incidents(wired)  # both disks share alertname: one incident
    assert (incident.source, incident.channel, incident.status) == ("alarm", "alertmanager", "open")
    assert incident.title == "please check the instance example1"
    assert pagerduty.actions() == [("trigger", f"escalator-{incident.key}")]
    trigger = pagerduty.events[0]
    assert (
        trigger["payload"]["severity"] == "critical"
        and trigger["routing_key"] == pagerduty.events[0]["routing_key"]
    )
    [root] = slack.roots("#alerts")
    assert incident.key in root.text
    assert "prometheus:9090/graph" in json.dumps(root.blocks)
    due = clock.now() + timedelta(minutes=30)
    assert f"triage due {due:%H:%M} UTC" in json.dumps(root.blocks), "the clock shows in Slack"
    with wired.db.read() as s:
        kinds = [e.kind for e in queries.timeline(s, queries.get_incident(s, incident.key))]
    assert kinds[0] == "opened" and kinds[-1] == "alert_fired" and "assigned" in kinds
    with wired.unit_of_work("santhosh") as ctx:
        moves.acknowledge(ctx, incident.key)
    worker.run_once()
    assert pagerduty.alerts == {f"escalator-{incident.key}": "acknowledged"}

    clock.advance(timedelta(minutes=5))
    assert (
        post(
            wired_client, "alertmanager", secret, wire("alertmanager_webhook_v4_resolved.json")
        ).status_code
        == 202
    )
    worker.run_once()
    with wired.db.read() as s:
        resolved = queries.get_incident(s, incident.key)
        kinds = [e.kind for e in queries.timeline(s, resolved)]
    assert resolved.status == "resolved"
    assert kinds.count("alert_resolved") == 2 and "resolve" in kinds
    assert pagerduty.actions()[-1] == ("resolve", f"escalator-{incident.key}")
    assert pagerduty.alerts == {f"escalator-{incident.key}": "resolved"}
    assert root.text.startswith(f"{incident.key} resolved"), "the root message is updated in place"
    assert any("resolve" in m.text for m in slack.thread(root))
    assert len(slack.roots()) == 1


def test_a_refire_updates_the_open_incident_and_a_storm_folds_into_one(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    pagerduty: FakePagerDuty,
) -> None:
    secret = integration("alertmanager")
    storm = {
        "version": "4",
        "status": "firing",
        "truncatedAlerts": 7,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "PriceSyncLag", "service": "pricing", "pod": f"p{n}"},
            }
            for n in range(100)
        ],
    }
    response = post(wired_client, "alertmanager", secret, storm)
    assert response.json() == {"accepted": 100, "rejected": [], "truncated": 7}
    post(wired_client, "alertmanager", secret, storm)  # Alertmanager repeats itself
    wired.worker().run_once()
    [incident] = incidents(wired)
    with wired.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 100
        assert s.scalar(select(func.count()).where(Alert.incident_id == incident.id)) == 100
    assert pagerduty.actions() == [("trigger", f"escalator-{incident.key}")], (
        "one page for the storm"
    )

    other = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "PriceSyncLag", "service": "checkout"}}
        ]
    }
    post(wired_client, "alertmanager", secret, other)
    wired.worker().run_once()
    assert len(incidents(wired)) == 2, "another service is another incident"


def test_an_alert_firing_again_after_its_incident_resolved_opens_a_new_one(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
) -> None:
    secret = integration("generic")
    firing = {"title": "Quote API 5xx > 5%", "service": "quotes", "fingerprint": "quotes-5xx"}
    post(wired_client, "generic", secret, firing)
    wired.worker().run_once()
    post(wired_client, "generic", secret, {**firing, "status": "resolved"})
    wired.worker().run_once()
    post(wired_client, "generic", secret, firing)
    wired.worker().run_once()
    statuses = sorted(i.status for i in incidents(wired))
    assert statuses == ["open", "resolved"]
    with wired.db.read() as s:
        assert s.scalars(select(Alert.fire_count)).one() == 2


def test_grafana_and_generic_payloads(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
) -> None:
    grafana = wire("grafana_webhook.json")
    assert post(wired_client, "grafana", integration("grafana"), grafana).json()["accepted"] == 2
    batch = {
        "alerts": [
            {
                "title": "Disk 91% on db-1",
                "severity": "warning",
                "service": "db",
                "links": [{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
            },
            {"status": "sideways"},
        ]
    }
    response = post(wired_client, "generic", integration("generic"), batch)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [1]
    assert "title" in body["rejected"][0]["reason"] and "status" in body["rejected"][0]["reason"]
    wired.worker().run_once()
    titles = sorted(i.title for i in incidents(wired))
    assert titles == [
        "Disk 91% on db-1",
        "This alert was triggered for zone eu-1",
        "This alert was triggered for zone us-1",
    ]
    grafana_resolved = copy.deepcopy(grafana)
    for alert in grafana_resolved["alerts"]:
        alert["status"] = "resolved"
    post(wired_client, "grafana", integration("grafana"), grafana_resolved)
    wired.worker().run_once()
    assert sorted(i.status for i in incidents(wired)) == ["open", "resolved", "resolved"]
