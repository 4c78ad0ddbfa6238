"""The seed's whole path with a fake clock: alarm → triage (SEV2) → Support Manager →
playbook failed → on call paged → no ack → next person → ack → an hour passes → SME paged →
resolved; every page reaches the fake PagerDuty and Slack exactly once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import integrations
from escalator.process.escalate import escalation
from escalator.process.triage import playbooks
from escalator.store.models import OutboxMessage
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack

Auth = Callable[[str], dict[str, str]]

ALARM = {
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "PriceSyncLag", "service": "pricing"},
            "annotations": {"summary": "Price sync lag above 10 minutes"},
        }
    ]
}


def page_triggers(pagerduty: FakePagerDuty) -> Counter[str]:
    return Counter(
        e["dedup_key"]
        for e in pagerduty.events
        if e["event_action"] == "trigger" and "-page-" in e["dedup_key"]
    )


def dms(slack: FakeSlack) -> Counter[str]:
    return Counter(
        m.channel for m in slack.messages if m.channel.startswith("U") and "you are paged" in m.text
    )


def console_subjects(svc: Services, person: str) -> list[str]:
    with svc.db.read() as session:
        rows = session.query(OutboxMessage).filter_by(channel="console", destination=person)
        return [r.subject for r in rows]


def test_the_seed_path_pages_each_person_once(
    paging: Services,
    paging_client: TestClient,
    auth: Auth,
    clock: FakeClock,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
) -> None:
    api, worker = paging_client, paging.worker()
    # Monday 2 November 2026, 09:00 UTC: Michael is on call, Jonathan after him; Jonathan is
    # the SME this week, but the Engineering Manager has Vijay cover the SME role today.
    assert [
        r["people"]
        for r in api.get("/api/v1/oncall", headers=auth("noah")).json()
        if r["role"] in ("on_call_engineer", "sme")
    ] == [["michael"], ["jonathan"]]
    cover = {
        "person": "vijay",
        "start": "2026-11-02T08:00:00Z",
        "end": "2026-11-02T18:00:00Z",
        "note": "Jonathan at a conference",
    }
    assert (
        api.post("/api/v1/rotations/sme/overrides", json=cover, headers=auth("noah")).status_code
        == 403
    )
    assert (
        api.post("/api/v1/rotations/sme/overrides", json=cover, headers=auth("raja")).status_code
        == 201
    )

    # ALERT: the alarm opens INC-1
    with paging.unit_of_work("dinesh") as ctx:
        secret = integrations.create(ctx, kind="alertmanager", name="prod")[1]
    assert api.post(f"/api/v1/intake/alertmanager?token={secret}", json=ALARM).status_code == 202
    worker.run_once()
    key = "INC-1"

    # TRIAGE: the playbook fails; severity SEV2 meets the threshold → the Support Manager
    santhosh, dinesh = auth("santhosh"), auth("dinesh")
    failed = api.post(
        f"/api/v1/incidents/{key}/playbook-outcome",
        json={"outcome": "failed", "note": "lag keeps growing"},
        headers=santhosh,
    )
    assert failed.status_code == 200, failed.text
    verdict = api.post(
        f"/api/v1/incidents/{key}/assessments",
        json={"users_affected": 20, "user_impact": "blocked", "business_impact": "none"},
        headers=santhosh,
    ).json()
    assert verdict["severity"] == "SEV2" and verdict["incident"]["owner_person"] == "dinesh"

    # ESCALATE: only the Support Manager decides; the playbook failed, so on call is paged
    refused = api.post(
        f"/api/v1/incidents/{key}/decision", json={"decision": "on_call"}, headers=santhosh
    )
    assert refused.status_code == 403 and "support_manager" in refused.json()["detail"]
    decided = api.post(
        f"/api/v1/incidents/{key}/decision",
        json={"decision": "on_call", "note": "checkout down"},
        headers=dinesh,
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["owner_role"], decided.json()["owner_person"]) == (
        "on_call_engineer",
        "michael",
    )
    worker.run_once()
    assert dms(slack) == {"U0MICHAEL": 1}
    assert len(page_triggers(pagerduty)) == 1

    # fourteen minutes: still Michael's page
    clock.advance(timedelta(minutes=14))
    worker.run_once()
    assert dms(slack) == {"U0MICHAEL": 1}

    # fifteen minutes without an acknowledgement: Jonathan, the next person, and the manager told
    clock.advance(timedelta(minutes=1))
    worker.run_once()
    assert dms(slack) == {"U0MICHAEL": 1, "U0JONATHAN": 1}
    assert any(
        "michael did not acknowledge within 15m" in s for s in console_subjects(paging, "dinesh")
    )

    # Jonathan acknowledges from the link in his Slack DM
    dm = next(m for m in slack.messages if m.channel == "U0JONATHAN")
    link = re.search(r"<http://escalator\.test(/ack/[^|>]+)\|", dm.text)
    assert link, dm.text
    opened = api.get(link.group(1))
    assert opened.status_code == 200 and "Acknowledge as jonathan" in opened.text
    assert api.get(f"/api/v1/incidents/{key}", headers=dinesh).json()["status"] == "open", (
        "opening the link changes nothing"
    )
    acked = api.post(link.group(1))
    assert acked.status_code == 200 and f"Acknowledged {key} as jonathan" in acked.text
    assert api.get(link.group(1).replace(".", "x", 1)).status_code == 404, (
        "a tampered link is refused"
    )
    worker.run_once()

    # an hour on, acknowledged but unresolved: the SME (Vijay, covering) is paged
    clock.advance(timedelta(minutes=59))
    worker.run_once()
    assert "U0VIJAY" not in dms(slack)
    clock.advance(timedelta(minutes=1))
    worker.run_once()
    assert dms(slack) == {"U0MICHAEL": 1, "U0JONATHAN": 1, "U0VIJAY": 1}
    incident = api.get(f"/api/v1/incidents/{key}", headers=dinesh).json()
    assert (incident["owner_role"], incident["owner_person"], incident["status"]) == (
        "on_call_engineer",
        "jonathan",
        "acknowledged",
    ), "on call stays in charge; the SME is paged to join"

    vijay = auth("vijay")
    joined = api.post(f"/api/v1/incidents/{key}/acknowledge", headers=vijay)
    assert joined.status_code == 200 and joined.json()["owner_person"] == "jonathan"
    assert any(
        e["kind"] == "joined" and e["note"] == "vijay joined as sme"
        for e in api.get(f"/api/v1/incidents/{key}/timeline", headers=dinesh).json()
    )
    assert (
        api.post(
            f"/api/v1/incidents/{key}/resolve", json={"note": "rolled back"}, headers=vijay
        ).status_code
        == 200
    )
    worker.run_once()
    clock.advance(timedelta(days=1))
    worker.run_once()

    # every page arrived exactly once, at PagerDuty and in Slack
    triggers = page_triggers(pagerduty)
    assert sorted(triggers.values()) == [1, 1, 1]
    assert dms(slack) == {"U0MICHAEL": 1, "U0JONATHAN": 1, "U0VIJAY": 1}
    assert all(pagerduty.alerts[k] == "resolved" for k in triggers)
    # at 18:00 the override ended and Jonathan was told his SME shift begins
    handoff = [
        m.text for m in slack.messages if m.channel == "U0JONATHAN" and "shift begins" in m.text
    ]
    assert handoff == [
        "Your sme shift begins now until Mon 09 Nov 09:00 UTC (taking over from vijay)."
    ]
    paged = [
        (p["person"], p["state"], p["acked_by"])
        for p in api.get(f"/api/v1/incidents/{key}/pages", headers=dinesh).json()
    ]
    assert paged == [
        ("michael", "timed_out", None),
        ("jonathan", "acknowledged", "jonathan"),
        ("vijay", "acknowledged", "vijay"),
    ]
    # the thread tells the story
    root = slack.roots("#alerts")[0]
    thread = " / ".join(m.text for m in slack.thread(root))
    for line in (
        "decided to escalate to the On Call Engineer",
        "paging michael",
        "paging jonathan",
        "paging vijay",
    ):
        assert line in thread, line
    kinds = [e["kind"] for e in api.get(f"/api/v1/incidents/{key}/timeline", headers=dinesh).json()]
    for kind in (
        "decision",
        "policy_frozen",
        "resolution_clock",
        "page_timed_out",
        "bring_in",
        "resolve",
    ):
        assert kind in kinds, kind
    assert "resolution_breached" not in kinds


def test_pages_leave_the_outbox_before_the_chatter_around_them(
    make_paging: Callable[..., Services], slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    svc = make_paging(worker_batch=2)
    with svc.unit_of_work("dinesh") as ctx:
        key = opening.open_incident(
            ctx, title="checkout down", source="customer", channel="phone"
        ).key
    svc.worker().run_once()
    slack.messages.clear()
    with svc.unit_of_work("dinesh") as ctx:
        playbooks.conclude(ctx, key, "not_applicable")
        escalation.decide(ctx, key, "on_call")
    svc.worker().dispatch_outbox()  # one batch of two
    assert [m.channel for m in slack.messages] == ["U0MICHAEL"], "the DM went first"
    assert page_triggers(pagerduty) == {f"escalator-{key}-page-1": 1}


def test_a_title_cannot_forge_a_link_in_the_page(paging: Services, slack: FakeSlack) -> None:
    escalated(paging, "<https://evil.example|ack> & co")
    paging.worker().run_once()
    dm = next(m for m in slack.messages if m.channel == "U0MICHAEL")
    assert "&lt;https://evil.example|ack&gt; &amp; co" in dm.text
    assert dm.text.count("<http") == 1, "only Escalator's own link"
