"""COMMUNICATE over the API: who is owed updates (the caller, the account's contacts, anyone
added), a call logged as made (on the ledger, the timeline and the ticket), the "updates
due" queue and /metrics, the final update before closing, and bad input refused with the
reason and nothing stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalator.api.server import create_app
from escalator.app import Services
from escalator.store.models import CustomerUpdate, OutboxMessage, TicketComment
from tests.fakes import FakeClock

Auth = Callable[[str], dict[str, str]]


def process_file(path: Path) -> Path:
    """The default process, with ACME's own contacts and working hours (London, 9 to 5)."""
    defaults = resources.files("escalator.defaults")
    spec = yaml.safe_load((defaults / "default-process.yaml").read_text())
    spec["playbooks"]["directory"] = str(defaults / "playbooks")
    spec["accounts"]["acme"]["contacts"] = [
        {"name": "Ann Ops", "email": "ann@acme.com"},
        {"name": "Carl", "phone": "+44 20 7946 0000"},
    ]
    spec["accounts"]["acme"]["working_hours"] = {
        "timezone": "Europe/London",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
    }
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def api(
    make_services: Callable[..., Services], database_url: str, tmp_path: Path
) -> Iterator[tuple[Services, TestClient]]:
    svc = make_services(database_url, process_file=process_file(tmp_path / "process.yaml"))
    with TestClient(create_app(svc, run_worker=False)) as client:
        yield svc, client


def phone_report(client: TestClient, auth: Auth, **extra: Any) -> str:
    body = {"title": "Quotes time out", "caller": "Bob", "contact": "+1 555 0100", **extra}
    response = client.post("/api/v1/incidents", json=body, headers=auth("santhosh"))
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


def test_the_caller_the_accounts_contacts_and_anyone_added_are_owed_updates(
    api: tuple[Services, TestClient], auth: Auth
) -> None:
    _, client = api
    key = phone_report(client, auth, account="acme")
    noah = auth("noah")
    added = client.post(
        f"/api/v1/incidents/{key}/contacts",
        json={"name": "Dora CFO", "email": "Dora@Acme.com"},
        headers=noah,
    )
    assert added.status_code == 201 and added.json()["channel"] == "email"
    contacts = client.get(f"/api/v1/incidents/{key}/customers", headers=noah).json()["contacts"]
    assert [(c["name"], c["channel"], c["address"], c["source"]) for c in contacts] == [
        ("Ann Ops", "email", "ann@acme.com", "account"),
        ("Carl", "phone", "+44 20 7946 0000", "account"),
        ("Bob", "phone", "+1 555 0100", "customer"),
        ("Dora CFO", "email", "dora@acme.com", "manual"),
    ]
    assert {c["due_at"] for c in contacts} == {"2026-11-02T10:00:00Z"}, "untriaged: 1h"


def test_the_clock_runs_in_the_accounts_working_hours_only(
    api: tuple[Services, TestClient], auth: Auth, clock: FakeClock
) -> None:
    _, client = api
    clock.advance(timedelta(hours=7, minutes=30))  # Monday 16:30 in London
    acme, other = phone_report(client, auth, account="acme"), phone_report(client, auth)
    noah = auth("noah")
    due = {
        key: client.get(f"/api/v1/incidents/{key}/customers", headers=noah).json()["contacts"]
        for key in (acme, other)
    }
    assert {c["due_at"] for c in due[acme]} == {"2026-11-03T09:30:00Z"}, "30 min left on Monday"
    assert {c["due_at"] for c in due[other]} == {"2026-11-02T17:30:00Z"}, "no hours: always"


def test_a_call_is_logged_on_the_ledger_the_timeline_and_the_ticket(
    api: tuple[Services, TestClient], auth: Auth, clock: FakeClock
) -> None:
    svc, client = api
    key = phone_report(client, auth)
    clock.advance(timedelta(minutes=20))
    noah = auth("noah")
    called = client.post(
        f"/api/v1/incidents/{key}/updates",
        json={"text": "Called Bob: we are restarting the quote service.", "next": "45m"},
        headers=noah,
    )
    assert called.status_code == 201, called.text
    assert [(e["state"], e["sent_at"]) for e in called.json()] == [("sent", "2026-11-02T09:20:00Z")]
    [bob] = client.get(f"/api/v1/incidents/{key}/customers", headers=noah).json()["contacts"]
    assert bob["promised_at"] == bob["due_at"] == "2026-11-02T10:05:00Z"
    timeline = client.get(f"/api/v1/incidents/{key}/timeline", headers=noah).json()
    told = [e for e in timeline if e["kind"] == "customer_told"]
    assert told[0]["actor"] == "noah"
    assert told[0]["note"].startswith("Bob <+1 555 0100> told by phone: Called Bob")
    with svc.db.read() as s:
        comments = [c.body for c in s.scalars(select(TicketComment))]
        assert any(
            c.startswith("Customer update. Bob <+1 555 0100> told by phone") for c in comments
        )
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.channel.in_(["customer_email", "discourse"]))
            )
            == 0
        )

    metrics = client.get("/metrics").text
    assert 'escalator_customer_updates_sent{channel="phone"} 1.0' in metrics
    assert "escalator_customer_updates_overdue 0.0" in metrics
    assert (
        'escalator_customer_update_interval_seconds_bucket{le="1800.0",severity="none"} 1.0'
        in metrics
    )
    assert 'escalator_customer_update_interval_seconds_sum{severity="none"} 1200.0' in metrics


def test_the_queue_counts_down_and_marks_what_is_overdue(
    api: tuple[Services, TestClient], auth: Auth, clock: FakeClock
) -> None:
    _, client = api
    late, soon = phone_report(client, auth), phone_report(client, auth, title="Slow search")
    clock.advance(timedelta(minutes=50))
    noah = auth("noah")
    client.post(
        f"/api/v1/incidents/{soon}/updates", json={"text": "Called.", "next": "1h"}, headers=noah
    )
    clock.advance(timedelta(minutes=15))
    queue = client.get("/api/v1/updates/due", headers=noah).json()
    assert [(q["incident"], q["overdue"], q["seconds_left"], q["owed"]) for q in queue] == [
        (late, True, -5 * 60, ["Bob <+1 555 0100>"]),
        (soon, False, 45 * 60, ["Bob <+1 555 0100>"]),
    ]
    assert "escalator_customer_updates_overdue 1.0" in client.get("/metrics").text


def test_the_final_update_is_required_before_closing_unless_a_manager_waives_it(
    api: tuple[Services, TestClient], auth: Auth
) -> None:
    _, client = api
    key = phone_report(client, auth)
    dinesh, noah = auth("dinesh"), auth("noah")
    client.post(f"/api/v1/incidents/{key}/resolve", headers=dinesh)
    refused = problem(client.post(f"/api/v1/incidents/{key}/close", headers=dinesh), 422)
    assert refused.startswith(f"incident: {key} cannot be closed: ")
    assert "Bob <+1 555 0100> was never told it was resolved" in refused
    client.post(f"/api/v1/incidents/{key}/contacts", json={"phone": "+1 555 0142"}, headers=noah)
    refused = problem(client.post(f"/api/v1/incidents/{key}/close", headers=dinesh), 422)
    assert "Bob <+1 555 0100>, +1 555 0142 were never told it was resolved" in refused
    queue = client.get("/api/v1/updates/due", headers=noah).json()
    assert [(q["incident"], q["resolution"], len(q["owed"])) for q in queue] == [(key, True, 2)]
    draft = client.get(f"/api/v1/incidents/{key}/customers", headers=noah).json()
    assert draft["not_told_resolved"] and '"Quotes time out" (INC-1) is resolved.' in draft["draft"]

    waive = f"/api/v1/incidents/{key}/resolution-notice/waive"
    assert problem(client.post(waive, json={"reason": "x"}, headers=noah), 403).startswith(
        "noah may not waive telling customers"
    )
    assert problem(client.post(waive, json={"reason": ""}, headers=dinesh), 422)
    assert client.post(
        waive, json={"reason": "Bob hung up: no number works"}, headers=dinesh
    ).json() == {
        "waived": "not telling Bob <+1 555 0100>, +1 555 0142 it was resolved: "
        "Bob hung up: no number works"
    }
    refused = problem(client.post(f"/api/v1/incidents/{key}/close", headers=dinesh), 422)
    assert "never told" not in refused and "post-mortem has not been reviewed" in refused
    no_postmortem = {"reason": "a wrong quote, no outage"}
    client.post(f"/api/v1/incidents/{key}/postmortem/waiver", json=no_postmortem, headers=dinesh)
    closed = client.post(f"/api/v1/incidents/{key}/close", headers=dinesh)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_bad_input_is_refused_with_the_reason_and_nothing_is_stored(
    api: tuple[Services, TestClient], auth: Auth
) -> None:
    svc, client = api
    key = phone_report(client, auth)
    noah = auth("noah")
    updates = f"/api/v1/incidents/{key}/updates"
    contacts = f"/api/v1/incidents/{key}/contacts"
    cases = [
        (contacts, {"name": "Eve"}, 422, "contact: a contact needs a channel: give an email"),
        (contacts, {"email": "not-an-address"}, 422, "email: 'not-an-address' is not an email"),
        (contacts, {"phone": "call me"}, 422, "phone: 'call me' is not a phone number"),
        (updates, {"text": "We are on it."}, 422, f"next: {key} is open, so the update must say"),
        (updates, {"text": "We are on it.", "next": "soon"}, 422, "next: 'soon' is not a time"),
        (
            updates,
            {"text": "Hi", "next": "2020-01-01T00:00Z"},
            422,
            "next: '2020-01-01T00:00Z' has passed",
        ),
        (
            updates,
            {"text": "Hi", "next": "1h", "contacts": ["zed"]},
            422,
            f"contact: {key} has no contact 'zed': its contacts are 1 Bob <+1 555 0100>",
        ),
        (updates, {"text": "   ", "next": "1h"}, 422, "text: the update is empty"),
    ]
    for url, body, status, start in cases:
        assert problem(client.post(url, json=body, headers=noah), status).startswith(start), body
    # an email contact can be added, but not written to without outgoing email
    client.post(contacts, json={"email": "dora@acme.com"}, headers=noah)
    assert problem(
        client.post(updates, json={"text": "Hi all", "next": "1h"}, headers=noah), 422
    ).startswith(
        "contact: dora@acme.com is kept updated by email, and outgoing email is not set up"
    )
    assert problem(
        client.post(updates, json={"text": "Hi", "next": "1h"}, headers=auth("santhosh")), 403
    ).startswith(
        "santhosh may not update customers: it needs the role second_tier or support_manager"
    )
    other = phone_report(client, auth, caller=None, contact=None)
    assert (
        problem(
            client.post(
                f"/api/v1/incidents/{other}/updates",
                json={"text": "Hi", "next": "1h"},
                headers=noah,
            ),
            422,
        )
        == f"contact: {other} has no contacts to update: add one (email or phone) first"
    )
    with svc.db.read() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(CustomerUpdate)
                .where(CustomerUpdate.direction == "out")
            )
            == 0
        )
