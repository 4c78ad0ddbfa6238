"""The council's decisions of every kind, and what is refused with nothing stored: a
non-member, an Unleash 403, a change event with a bad body, a member deciding twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from escalator.app import Services
from escalator.domain.council import next_working_day_end
from escalator.integrations.inbound.changes import parse
from escalator.integrations.inbound.common import PayloadError
from escalator.process.alert import opening
from escalator.process.core import integrations
from escalator.process.remediate import council
from escalator.store.models import Change, CouncilDecision, OutboxMessage
from tests.fakes import FakeClock
from tests.fakes.unleash import FakeUnleash
from tests.remediate.conftest import console_subjects

Auth = Callable[[str], dict[str, str]]
WIRE = Path(__file__).parents[1] / "wire"


def brought(svc: Services, title: str = "checkout errors", service: str = "checkout") -> str:
    with svc.unit_of_work("dinesh") as ctx:
        incident = opening.open_incident(
            ctx, title=title, source="alarm", channel="manual", details={"service": service}
        )
        key = incident.key
    with svc.unit_of_work("dinesh") as ctx:
        council.bring(ctx, key, note="needs the council")
    return key


def decisions_of(svc: Services) -> list[CouncilDecision]:
    with svc.db.read() as session:
        return list(session.query(CouncilDecision).order_by(CouncilDecision.id))


def test_gather_info_short_and_long_term_allocations_and_supersession(
    council_svc: Services, api: TestClient, auth: Auth, clock: FakeClock
) -> None:
    key = brought(council_svc)
    url = f"/api/v1/incidents/{key}/council/decisions"
    jonathan = auth("jonathan")
    # gather_info: second tier is asked; the answer goes on the record; the council is told
    asked = api.post(
        url,
        json={
            "kind": "gather_info",
            "reasons": "which accounts?",
            "ask": "second_tier",
            "question": "Which accounts see failed checkouts?",
            "due": "2h",
        },
        headers=jonathan,
    )
    assert asked.status_code == 201, asked.text
    info = asked.json()
    assert info["state"] == "open" and info["due_at"].startswith("2026-11-02T11:00")
    assert any("The council asks" in s for s in console_subjects(council_svc, "noah"))
    answered = api.post(
        f"{url}/{info['id']}/answer", json={"text": "ACME and Globex"}, headers=auth("noah")
    )
    assert answered.status_code == 200 and answered.json()["result"]["answer"] == "ACME and Globex"
    assert any("question is answered" in s for s in console_subjects(council_svc, "vijay"))
    # the answer puts it back in the queue for the next decision
    assert [q["incident"] for q in api.get("/api/v1/council/queue", headers=jonathan).json()] == [
        key
    ]

    # allocate_short_term on Monday 09:00: due at the end of Tuesday (17:00 UTC)
    short = api.post(
        url,
        json={"kind": "allocate_short_term", "reasons": "a fix is known", "engineers": ["vijay"]},
        headers=jonathan,
    ).json()
    assert short["due_at"].startswith("2026-11-03T17:00"), short
    # deciding again without superseding is refused, naming the live decision
    twice = api.post(
        url,
        json={"kind": "allocate_short_term", "reasons": "again", "engineers": ["michael"]},
        headers=auth("raja"),
    )
    assert twice.status_code == 422 and f"supersedes={short['id']}" in twice.json()["detail"]
    # allocate_long_term (built-in tracker) supersedes it: the sprint's end is the clock now
    long = api.post(
        url,
        json={
            "kind": "allocate_long_term",
            "reasons": "needs a redesign",
            "sprint": "Sprint 48",
            "sprint_ends": "2026-11-20",
            "engineers": ["michael"],
            "supersedes": short["id"],
        },
        headers=auth("raja"),
    )
    assert long.status_code == 201, long.text
    panel = api.get(f"/api/v1/incidents/{key}/council", headers=jonathan).json()
    assert [(d["kind"], d["state"], d["superseded_by"]) for d in panel["decisions"]] == [
        ("gather_info", "answered", None),
        ("allocate_short_term", "superseded", long.json()["id"]),
        ("allocate_long_term", "open", None),
    ]
    timeline = api.get(f"/api/v1/incidents/{key}/timeline", headers=jonathan).json()
    replaced = [e for e in timeline if e["kind"] == "resolution_clock_replaced"]
    assert replaced and "Sprint 48" in replaced[0]["note"]
    # a sprint that has ended is refused
    ended = api.post(
        url,
        json={
            "kind": "allocate_long_term",
            "reasons": "x",
            "sprint": "Sprint 40",
            "sprint_ends": "2026-10-01",
            "supersedes": long.json()["id"],
        },
        headers=jonathan,
    )
    assert ended.status_code == 422 and "ended" in ended.json()["detail"]


def test_refusals_store_nothing(
    council_svc: Services, api: TestClient, auth: Auth, unleash: FakeUnleash
) -> None:
    key = brought(council_svc)
    url = f"/api/v1/incidents/{key}/council/decisions"
    rollback = {
        "kind": "rollback_flag",
        "reasons": "the flag broke checkout",
        "flag": "new-checkout",
        "project": "payments",
        "environment": "production",
    }
    # not a member
    no = api.post(url, json=rollback, headers=auth("noah"))
    assert no.status_code == 403 and "noah may not record council decisions" in no.json()["detail"]
    # an unknown flag: Unleash's own words
    unknown = api.post(url, json={**rollback, "flag": "old-checkout"}, headers=auth("jonathan"))
    assert unknown.status_code == 422
    assert 'There\'s no feature named "old-checkout"' in unknown.json()["detail"]
    # Unleash refuses the token (403)
    unleash.client_token = True
    forbidden = api.post(url, json=rollback, headers=auth("jonathan"))
    assert forbidden.status_code == 422 and "Unleash 403" in forbidden.json()["detail"]
    assert decisions_of(council_svc) == []
    with council_svc.db.read() as session:
        assert session.query(OutboxMessage).filter_by(channel="unleash").count() == 0


def test_an_unleash_403_when_acting_shows_the_rollback_failed(
    council_svc: Services, api: TestClient, auth: Auth, unleash: FakeUnleash
) -> None:
    key = brought(council_svc)
    made = api.post(
        f"/api/v1/incidents/{key}/council/decisions",
        json={
            "kind": "rollback_flag",
            "reasons": "the flag broke checkout",
            "flag": "new-checkout",
            "project": "payments",
            "environment": "production",
        },
        headers=auth("jonathan"),
    ).json()
    approve = f"/api/v1/incidents/{key}/council/decisions/{made['id']}/approve"
    for member in ("raja", "vijay"):
        assert api.post(approve, json={}, headers=auth(member)).status_code == 200
    unleash.forbid = True  # the token lacks UPDATE_FEATURE_ENVIRONMENT
    council_svc.worker().run_once()
    decision = api.get(f"/api/v1/incidents/{key}/council", headers=auth("raja")).json()[
        "decisions"
    ][0]
    assert decision["state"] == "failed"
    assert "UPDATE_FEATURE_ENVIRONMENT" in decision["error"]
    assert unleash.flags[("payments", "new-checkout")]["production"] is True


def test_a_rollback_by_hand_that_did_not_work_is_back_in_the_queue(
    make_services: Callable[..., Services],
    database_url: str,
    auth: Auth,
    clock: FakeClock,
) -> None:
    svc = make_services(database_url)  # no Unleash: the council rolls back by hand
    key = brought(svc)
    with svc.unit_of_work("jonathan") as ctx:
        from escalator.process.remediate import decisions

        row = decisions.decide(
            ctx,
            key,
            "rollback_release",
            reasons="release 2026.11.2 broke checkout",
            params={"release": "2026.11.2"},
        )
        decision_id = row.id
    for member in ("raja", "michael"):
        with svc.unit_of_work(member) as ctx:
            decisions.approve(ctx, key, decision_id)
    with svc.db.read() as session:
        row = session.get(CouncilDecision, decision_id)
        assert row is not None and row.state == "manual"
    with svc.unit_of_work("vijay") as ctx:
        decisions.confirm(ctx, key, decision_id, note="rolled back with the deploy tool")
    clock.advance(timedelta(minutes=30))
    svc.worker().run_once()
    with svc.db.read() as session:
        row = session.get(CouncilDecision, decision_id)
        assert row is not None and row.result["worked"] is False
        assert session.query(Change).filter_by(source="escalator").count() == 1
    with svc.looking("raja") as ctx:
        assert [w.incident.key for w in council.queue(ctx.session)] == [key]
    assert any("Rollback did not work" in s for s in console_subjects(svc, "jonathan"))


def test_change_events_from_pagerduty_senders_and_unleash(
    council_svc: Services, api: TestClient, auth: Auth, clock: FakeClock
) -> None:
    with council_svc.unit_of_work("dinesh") as ctx:
        secret = integrations.create(ctx, kind="changes", name="ci")[1]
    post = f"/api/v1/intake/changes?token={secret}"
    # PagerDuty's own example, as is
    example = json.loads((WIRE / "pagerduty_change_event_request.json").read_text())
    took = api.post(post, json=example)
    assert took.status_code == 202, took.text
    assert took.json()["message"] == "Change event processed"
    # Ansible's check mode posts no body and expects 400; a bad body is 422, nothing stored
    assert (
        api.post(post, content=b"", headers={"Content-Type": "application/json"}).status_code == 400
    )
    bad = api.post(post, json={"routing_key": "x", "payload": {"source": "ci"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "payload.summary"
    assert len(api.get("/api/v1/changes", headers=auth("raja")).json()) == 1
    # Unleash's webhook event (feature-environment-disabled), as is
    event = json.loads((WIRE / "unleash_webhook_feature_environment_disabled.json").read_text())
    assert api.post(post, json=event).status_code == 202
    flag = api.get("/api/v1/changes", headers=auth("raja")).json()[0]
    assert (flag["source"], flag["details"]["flag"], flag["details"]["enabled"]) == (
        "unleash",
        "new-checkout",
        False,
    )

    # "changed before this opened": same service or none, in the window, newest first
    for minutes, summary, service in (
        (150, "too early", "checkout"),
        (90, "deploy checkout 2026.11.2", "checkout"),
        (60, "other service", "search"),
        (20, "config for everyone", None),
    ):
        clock.set(clock.now().replace(hour=9, minute=0) - timedelta(minutes=minutes))
        body = {"payload": {"summary": summary, "timestamp": clock.now().isoformat()}}
        if service:
            body["payload"]["source"] = service
        assert api.post(post, json=body).status_code == 202
    clock.set(clock.now().replace(hour=9, minute=0))
    key = brought(council_svc)
    panel = api.get(f"/api/v1/incidents/{key}/council", headers=auth("raja")).json()
    assert [(c["summary"], c["seconds_before"]) for c in panel["changes_before"]] == [
        ("config for everyone", 20 * 60),
        ("deploy checkout 2026.11.2", 90 * 60),
    ]


@pytest.mark.parametrize(
    "stamp",
    [
        "2020-07-17T08:42:58.315+0000",
        "2020-07-17T08:42:58.315Z",
        "2020-07-17T08:42:58.315123Z",
        "2020-07-17T08:42:58.315123",
        "2020-07-17T08:42:58+00:00",
    ],
)
def test_every_sender_timestamp_is_read(stamp: str) -> None:
    change = parse({"payload": {"summary": "s", "timestamp": stamp}})
    assert (
        change.at is not None and change.at.strftime("%Y-%m-%d %H:%M:%S") == "2020-07-17 08:42:58"
    )


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c, max_size=3),
        max_leaves=12,
    )
)
def test_the_change_parser_accepts_or_names_the_field(body: object) -> None:
    try:
        change = parse(body)
    except PayloadError as exc:
        assert exc.field
    else:
        assert change.summary


@given(
    st.datetimes(
        min_value=__import__("datetime").datetime(1971, 1, 1),
        max_value=__import__("datetime").datetime(2199, 1, 1),
        timezones=st.just(__import__("datetime").UTC),
    )
)
def test_the_next_working_day_ends_on_a_weekday_after_today(now: object) -> None:
    from datetime import time

    due = next_working_day_end(
        now,  # type: ignore[arg-type]
        timezone="Europe/London",
        working_days=["mon", "tue", "wed", "thu", "fri"],
        end_of_day=time(17, 0),
    )
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    assert local.weekday() < 5 and (local.hour, local.minute) == (17, 0)
    assert local.date() > now.astimezone(local.tzinfo).date()  # type: ignore[attr-defined]
    assert (local.date() - now.astimezone(local.tzinfo).date()).days <= 3  # type: ignore[attr-defined]


def test_the_council_clock_breaches_and_an_unanswered_question_goes_to_the_manager(
    council_svc: Services, clock: FakeClock
) -> None:
    key = brought(council_svc)  # not triaged: the low-severity council clock, 1d
    worker = council_svc.worker()
    clock.advance(timedelta(days=1))
    worker.run_once()
    for manager in ("raja", "dinesh"):
        assert any("Council decision overdue" in s for s in console_subjects(council_svc, manager))
    with council_svc.unit_of_work("vijay") as ctx:
        from escalator.process.remediate import decisions

        decisions.decide(
            ctx,
            key,
            "gather_info",
            reasons="need logs",
            params={"ask": "michael", "question": "Logs from 08:30?", "due": "1h"},
        )
    assert any("The council asks" in s for s in console_subjects(council_svc, "michael"))
    clock.advance(timedelta(hours=1))
    worker.run_once()
    assert any("Unanswered council question" in s for s in console_subjects(council_svc, "raja"))
    # handed on from the council, it leaves the queue
    with council_svc.unit_of_work("raja") as ctx:
        from escalator.process.core import incidents

        incidents.escalate(ctx, key, to_role="sme", note="Jonathan takes it")
    with council_svc.db.read() as session:
        assert council.queue(session) == []


def test_a_bad_council_section_is_reported_with_its_line(tmp_path: Path) -> None:
    from escalator.config.process_loader import ProcessFileError, load_process

    text = (Path(__file__).parents[2] / "escalator/defaults/default-process.yaml").read_text()
    line = text.splitlines().index("  members: [jonathan, raja, vijay, michael]") + 1
    bad = tmp_path / "process.yaml"
    bad.write_text(text.replace("members: [jonathan, raja, vijay, michael]", "members: [bob]"))
    with pytest.raises(ProcessFileError) as raised:
        load_process(bad)
    assert f"{bad}:{line}" in str(raised.value) and "'bob' is not a person" in str(raised.value)
