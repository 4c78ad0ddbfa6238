"""The seed's path into REMEDIATE with a fake clock: an alarm → triage → on call → the on-call
engineer brings it to the council → all four members told → the council clock warns the
managers → rollback_flag with 2 approvals → Unleash turns the flag off exactly once although
the first call times out → the alarm resolves → the council hears the rollback worked."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.core import integrations
from tests.fakes import FakeClock
from tests.fakes.slack import FakeSlack
from tests.fakes.unleash import FakeUnleash
from tests.remediate.conftest import COUNCIL, console_subjects

Auth = Callable[[str], dict[str, str]]
WIRE = Path(__file__).parents[1] / "wire"


def alarm(status: str) -> dict:
    body = json.loads((WIRE / "alertmanager_webhook_v4.json").read_text())
    body = copy.deepcopy(body)
    body["status"] = status
    for a in body["alerts"]:
        a["status"] = status
        a["labels"]["service"] = "checkout"
    return body


def test_on_call_brings_it_to_the_council_which_rolls_a_flag_back_that_works(
    council_svc: Services,
    api: TestClient,
    auth: Auth,
    clock: FakeClock,
    slack: FakeSlack,
    unleash: FakeUnleash,
) -> None:
    worker = council_svc.worker()
    with council_svc.unit_of_work("dinesh") as ctx:
        alarms = integrations.create(ctx, kind="alertmanager", name="prod")[1]
        changes = integrations.create(ctx, kind="changes", name="unleash")[1]
    # 08:30: the new checkout flag went on in production (Unleash's webhook)
    clock.advance(timedelta(minutes=-30))
    flag_on = {
        "id": 5212,
        "type": "feature-environment-enabled",
        "createdBy": "dev@example.com",
        "createdAt": "2026-11-02T08:30:00.000Z",
        "data": None,
        "preData": None,
        "tags": [{"value": "checkout", "type": "service"}],
        "featureName": "new-checkout",
        "project": "payments",
        "environment": "production",
    }
    took = api.post(f"/api/v1/intake/changes?token={changes}", json=flag_on)
    assert took.status_code == 202, took.text
    clock.advance(timedelta(minutes=30))

    # 09:00 ALERT → TRIAGE → ESCALATE: the alarm opens INC-1; high severity; on call paged
    assert (
        api.post(f"/api/v1/intake/alertmanager?token={alarms}", json=alarm("firing")).status_code
        == 202
    )
    worker.run_once()
    key = "INC-1"
    santhosh, dinesh = auth("santhosh"), auth("dinesh")
    outcome = api.post(
        f"/api/v1/incidents/{key}/playbook-outcome",
        json={"outcome": "not_applicable"},
        headers=santhosh,
    )
    assert outcome.status_code == 200, outcome.text
    api.post(
        f"/api/v1/incidents/{key}/assessments",
        json={"users_affected": 20, "user_impact": "blocked", "business_impact": "none"},
        headers=santhosh,
    )
    decided = api.post(
        f"/api/v1/incidents/{key}/decision", json={"decision": "on_call"}, headers=dinesh
    )
    assert decided.status_code == 200 and decided.json()["owner_person"] == "michael", decided.text
    michael = auth("michael")
    assert api.post(f"/api/v1/incidents/{key}/acknowledge", headers=michael).status_code == 200
    worker.run_once()

    # REMEDIATE: first tier may not bring it to the council; the on-call engineer may
    refused = api.post(f"/api/v1/incidents/{key}/council", json={"note": "x"}, headers=santhosh)
    assert refused.status_code == 403
    brought = api.post(
        f"/api/v1/incidents/{key}/council",
        json={"note": "checkout errors since the flag went on"},
        headers=michael,
    )
    assert brought.status_code == 200, brought.text
    # on call stays in charge while the council decides (it was acknowledged)
    assert (
        brought.json()["stage"],
        brought.json()["status"],
        brought.json()["owner_role"],
        brought.json()["owner_person"],
    ) == ("remediate", "acknowledged", "on_call_engineer", "michael")
    worker.run_once()
    for member in COUNCIL:
        assert any(
            "For the council" in m.text or key in m.text
            for m in slack.messages
            if m.channel == f"U0{member.upper()}"
        ), member
        assert any("engineering_council" in s for s in console_subjects(council_svc, member)), (
            member,
            console_subjects(council_svc, member),
        )
    thread = [m.text for m in slack.messages if m.thread_ts and "Engineering Council" in m.text]
    assert thread, "the incident's Slack thread says so"

    queue = api.get("/api/v1/council/queue", headers=auth("raja")).json()
    assert [(q["incident"], q["brought_by"]) for q in queue] == [(key, "michael")]
    assert queue[0]["due_at"].startswith("2026-11-02T11:00"), "2h for high severity"

    # the changes before it opened pre-fill the rollback form
    panel = api.get(f"/api/v1/incidents/{key}/council", headers=auth("jonathan")).json()
    assert panel["flags"] == [
        {"flag": "new-checkout", "project": "payments", "environment": "production"}
    ]
    assert panel["changes_before"][0]["seconds_before"] == 30 * 60

    # 10:30: the managers are warned
    clock.advance(timedelta(minutes=90))
    worker.run_once()
    for manager in ("raja", "dinesh"):
        assert any(
            "left for the council to decide" in s for s in console_subjects(council_svc, manager)
        )

    # a non-member is refused, nothing stored
    rollback = {
        "kind": "rollback_flag",
        "reasons": "errors started when the flag went on",
        "flag": "new-checkout",
        "project": "payments",
        "environment": "production",
    }
    no = api.post(f"/api/v1/incidents/{key}/council/decisions", json=rollback, headers=dinesh)
    assert no.status_code == 403 and "engineering_council" in no.json()["detail"]
    assert api.get(f"/api/v1/incidents/{key}/council", headers=dinesh).json()["decisions"] == []

    made = api.post(
        f"/api/v1/incidents/{key}/council/decisions", json=rollback, headers=auth("jonathan")
    )
    assert made.status_code == 201, made.text
    decision = made.json()
    assert (decision["state"], decision["approvals_missing"]) == ("awaiting_approval", 2)
    assert api.get("/api/v1/council/queue", headers=dinesh).json() == [], "decided: off the queue"
    twice = api.post(
        f"/api/v1/incidents/{key}/council/decisions", json=rollback, headers=auth("vijay")
    )
    assert twice.status_code == 422 and "supersede" in twice.json()["detail"]

    approve = f"/api/v1/incidents/{key}/council/decisions/{decision['id']}/approve"
    own = api.post(approve, json={}, headers=auth("jonathan"))
    assert own.status_code == 422 and "another member" in own.json()["detail"]
    first = api.post(approve, json={}, headers=auth("raja")).json()
    assert (first["state"], first["approvals_missing"]) == ("awaiting_approval", 1)
    again = api.post(approve, json={}, headers=auth("raja"))
    assert again.status_code == 422 and "already" in again.json()["detail"]
    worker.run_once()
    assert unleash.flags[("payments", "new-checkout")]["production"] is True, "not before approval"

    # the second approval acts: Unleash applies it but answers too late (a timeout) …
    unleash.slow_offs, unleash.delay = 1, 1.0
    second = api.post(approve, json={}, headers=auth("vijay")).json()
    assert second["state"] == "acting"
    worker.run_once()
    assert unleash.flags[("payments", "new-checkout")]["production"] is False
    pending = api.get(f"/api/v1/incidents/{key}/council", headers=dinesh).json()["decisions"][0]
    assert pending["state"] == "acting"
    # … and the retry finds the flag off: turned off exactly once, the answer recorded
    clock.advance(timedelta(minutes=5))
    worker.run_once()
    offs = [r for r in unleash.server.requests if r.path.endswith("/off")]
    assert len(offs) == 1 and len(unleash.events) == 1
    done = api.get(f"/api/v1/incidents/{key}/council", headers=dinesh).json()
    assert done["decisions"][0]["state"] == "done"
    ours = [
        c for c in api.get("/api/v1/changes", headers=dinesh).json() if c["source"] == "escalator"
    ]
    assert len(ours) == 1 and "new-checkout" in ours[0]["summary"], "the rollback is a change"

    # the alarm resolves within 30 minutes: the council is told it worked
    clock.advance(timedelta(minutes=10))
    assert (
        api.post(f"/api/v1/intake/alertmanager?token={alarms}", json=alarm("resolved")).status_code
        == 202
    )
    worker.run_once()
    timeline = api.get(f"/api/v1/incidents/{key}/timeline", headers=dinesh).json()
    verdicts = [e for e in timeline if e["kind"] == "rollback_verified"]
    assert len(verdicts) == 1 and verdicts[0]["data"]["worked"] is True
    for member in COUNCIL:
        assert any(
            s.startswith(f"[{key}] Rollback worked") for s in console_subjects(council_svc, member)
        )
