"""The rules around the path: skipped steps, the frozen policy, resolution clocks that keep
running after acknowledgement, late timers after downtime, rotation edits and feeds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from icalendar import Calendar

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import incidents, people
from escalator.process.escalate import escalation
from escalator.store.models import Incident, Page, TimelineEvent
from tests.escalation.conftest import escalated, write_process
from tests.fakes import FakeClock

Auth = Callable[[str], dict[str, str]]


def kinds(svc: Services, key: str) -> list[tuple[str, str]]:
    with svc.db.read() as s:
        rows = s.query(TimelineEvent).filter_by(incident_id=int(key.split("-")[1]))
        return [(e.kind, e.note) for e in rows.order_by(TimelineEvent.id)]


def pages(svc: Services) -> list[tuple[str, str | None, str, str]]:
    with svc.db.read() as s:
        return [(p.target, p.person, p.state, p.reason) for p in s.query(Page).order_by(Page.id)]


def test_a_step_with_nobody_on_call_is_skipped_at_once(
    make_services: Callable[..., Services], database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    def one_person_rotation(spec: dict) -> None:
        spec["rotations"]["on_call"]["members"] = ["vijay"]

    svc = make_services(
        database_url, process_file=write_process(tmp_path / "p.yaml", one_person_rotation)
    )
    escalated(svc)
    clock.advance(timedelta(minutes=15))
    svc.worker().run_once()
    # vijay timed out; the backup step has nobody else, so the EM is paged in the same moment
    assert pages(svc) == [
        ("on_call_engineer", "vijay", "timed_out", "not acknowledged within 15m"),
        ("on_call_engineer.backup", None, "skipped", "nobody holds on_call_engineer.backup now"),
        ("engineering_manager", "raja", "paging", ""),
    ]
    assert (
        "page_skipped",
        "step 2 (on_call_engineer.backup): nobody holds on_call_engineer.backup now",
    ) in kinds(svc, "INC-1")
    clock.advance(timedelta(minutes=15))
    svc.worker().run_once()
    assert (
        "escalation_exhausted",
        "nobody acknowledged: every step of on_call was tried",
    ) in kinds(svc, "INC-1")


def test_the_path_is_frozen_when_escalation_starts(
    make_services: Callable[..., Services], database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "p.yaml"
    svc = make_services(database_url, process_file=write_process(path))
    key = escalated(svc)

    def shorter(spec: dict) -> None:
        spec["escalation"]["page_order"] = ["engineering_manager"]
        spec["clocks"]["on_call_ack"] = "5m"

    edited = make_services(database_url, process_file=write_process(path, shorter))
    later = escalated(edited, "search down")
    clock.advance(timedelta(minutes=5))
    edited.worker().run_once()
    with edited.db.read() as s:
        first, second = s.get(Incident, 1), s.get(Incident, 2)
        assert first is not None and second is not None
        assert first.policy and first.policy["chains"]["on_call"] == [
            "on_call_engineer",
            "on_call_engineer.backup",
            "engineering_manager",
        ]
        assert second.policy and second.policy["chains"]["on_call"] == ["engineering_manager"]
    # the first incident keeps its 15 minutes; the second, made after the edit, has 5
    assert [p[2] for p in pages(edited)] == ["paging", "timed_out"]
    assert (
        "escalation_exhausted",
        "nobody acknowledged: every step of on_call was tried",
    ) in kinds(edited, later)
    assert all(kind != "page_timed_out" for kind, _ in kinds(edited, key))


def test_the_resolution_clock_runs_on_after_acknowledgement(
    svc: Services, clock: FakeClock
) -> None:
    key = escalated(svc)
    with svc.unit_of_work("dinesh") as ctx:
        paged = ctx.session.query(Page).one().person
    assert paged
    with svc.unit_of_work(paged) as ctx:
        incidents.acknowledge(ctx, key)
    clock.advance(timedelta(hours=3))
    svc.worker().run_once()
    assert ("resolution_warning", "1h left to resolve") in kinds(svc, key)
    clock.advance(timedelta(hours=1))
    svc.worker().run_once()
    assert ("resolution_breached", "not resolved within the high severity time") in kinds(svc, key)
    with svc.db.read() as s:
        from escalator.store.models import OutboxMessage

        told = {
            m.destination
            for m in s.query(OutboxMessage).filter(
                OutboxMessage.subject.like("%Resolution overdue%")
            )
        }
    assert {"dinesh", "raja"} <= told, "both managers hear of the breach"


def test_the_engineering_manager_path_has_a_day(svc: Services, clock: FakeClock) -> None:
    with svc.unit_of_work("dinesh") as ctx:
        key = opening.open_incident(ctx, title="tooltip", source="customer", channel="phone").key
        incident = escalation.decide(ctx, key, "engineering_manager", note="low severity")
        assert (incident.owner_role, incident.owner_person) == ("engineering_manager", "raja")
        assert incident.resolution_due_at == clock.now() + timedelta(days=1)
    clock.advance(timedelta(days=1))
    svc.worker().run_once()
    assert ("resolution_breached", "not resolved within the low severity time") in kinds(svc, key)
    assert pages(svc) == [], "the Engineering Manager is told, not paged"


def test_after_downtime_timers_fire_in_order_and_say_they_were_late(
    svc: Services, clock: FakeClock
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.open_incident(ctx, title="disk full", source="alarm", channel="manual").key
    clock.advance(timedelta(hours=2))  # no worker ran for two hours
    svc.worker().run_once()
    events = kinds(svc, key)
    late = [note for kind, note in events if kind == "timer_late"]
    assert late[0].startswith("triage.warning was due") and late[0].endswith(
        "fired 1h40m late (workers down or behind)"
    )
    assert late[1].startswith("triage.deadline was due") and "fired 1h30m late" in late[1]
    order = [kind for kind, _ in events if kind in ("triage_warning", "triage_breached")]
    assert order == ["triage_warning", "triage_breached"]


def test_rotation_edits_are_the_engineering_managers_and_bad_ones_change_nothing(
    client: TestClient, auth: Auth
) -> None:
    good = {"person": "vijay", "start": "2026-11-03T09:00:00Z", "end": "2026-11-03T17:00:00Z"}
    assert (
        client.post(
            "/api/v1/rotations/on_call/overrides", json=good, headers=auth("vijay")
        ).status_code
        == 403
    )
    for bad, reason in (
        ({**good, "person": "nobody"}, "'nobody' is not a person"),
        ({**good, "end": "2026-11-03T08:00:00Z"}, "before it starts"),
        ({**good, "start": "2026-11-03T09:00:00"}, "timezone offset"),
    ):
        refused = client.post("/api/v1/rotations/on_call/overrides", json=bad, headers=auth("raja"))
        assert refused.status_code == 422 and reason in refused.json()["detail"], refused.text
    assert (
        client.post("/api/v1/rotations/nope/overrides", json=good, headers=auth("raja")).status_code
        == 404
    )
    assert client.get("/api/v1/rotations/on_call/overrides", headers=auth("raja")).json() == []
    made = client.post("/api/v1/rotations/on_call/overrides", json=good, headers=auth("raja"))
    assert made.status_code == 201 and made.json()["created_by"] == "raja"
    overlap = {
        **good,
        "person": "jonathan",
        "start": "2026-11-03T16:00:00Z",
        "end": "2026-11-03T20:00:00Z",
    }
    assert (
        "overlaps override"
        in client.post(
            "/api/v1/rotations/on_call/overrides", json=overlap, headers=auth("raja")
        ).json()["detail"]
    )
    schedule = client.get(
        "/api/v1/oncall/on_call_engineer/schedule?days=2", headers=auth("noah")
    ).json()
    assert {
        "start": "2026-11-03T09:00:00Z",
        "end": "2026-11-03T17:00:00Z",
        "person": "vijay",
        "source": "override",
    } in schedule["shifts"]

    swap = {"first": "2026-11-03T12:00:00Z", "second": "2026-11-10T12:00:00Z"}
    assert (
        client.post("/api/v1/rotations/on_call/swaps", json=swap, headers=auth("raja")).status_code
        == 201
    )
    later = client.get(
        "/api/v1/oncall/on_call_engineer/schedule?days=3&start=2026-11-09T00:00:00Z",
        headers=auth("noah"),
    ).json()
    # Michael's week (from 2 Nov) and Jonathan's (from 9 Nov) trade holders
    assert [(s["person"], s["source"]) for s in later["shifts"]] == [
        ("jonathan", "swap"),
        ("michael", "swap"),
    ]
    override_id = made.json()["id"]
    assert (
        client.delete(
            f"/api/v1/rotations/on_call/overrides/{override_id}", headers=auth("vijay")
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/v1/rotations/on_call/overrides/{override_id}", headers=auth("raja")
        ).status_code
        == 204
    )
    assert client.get("/api/v1/rotations/on_call/overrides", headers=auth("raja")).json() == []


def test_calendar_feeds_are_private_links(client: TestClient, auth: Auth) -> None:
    links = client.get("/api/v1/calendar-links", headers=auth("vijay")).json()
    assert set(links["people"]) == {"vijay"}, "people see their own link"
    assert len(client.get("/api/v1/calendar-links", headers=auth("raja")).json()["people"]) == 7
    url = links["rotations"]["on_call"]
    feed = client.get(url)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) >= 14 and all(str(e["SUMMARY"]).startswith("on_call: ") for e in events)
    mine = Calendar.from_ical(client.get(links["people"]["vijay"]).content).walk("VEVENT")
    assert mine and all("Vijay" in str(e["SUMMARY"]) for e in mine)
    assert client.get(url.replace("token=", "token=x")).status_code == 404
    assert client.get(url.replace("on_call.ics", "sme.ics")).status_code == 404, (
        "a link opens one feed"
    )


def test_the_engineering_manager_edits_a_rotation_and_it_takes_effect(
    client: TestClient, auth: Auth, svc: Services, clock: FakeClock
) -> None:
    new = {
        "members": ["jonathan", "noah"],
        "shift": "1d",
        "start": "2026-11-02",
        "handoff": "08:00",
        "timezone": "Europe/London",
    }
    assert (
        client.put("/api/v1/rotations/on_call", json=new, headers=auth("vijay")).status_code == 403
    )
    for bad, reason in (
        ({**new, "members": ["jonathan", "bob"]}, "not people in the process file: bob"),
        ({**new, "members": []}, "at least one member"),
        ({**new, "members": ["noah", "noah"]}, "each member once"),
        ({**new, "shift": "10m"}, "less than an hour"),
    ):
        refused = client.put("/api/v1/rotations/on_call", json=bad, headers=auth("raja"))
        assert refused.status_code == 422 and reason in refused.json()["detail"], refused.text
    zone = client.put(
        "/api/v1/rotations/on_call", json={**new, "timezone": "Mars/Olympus"}, headers=auth("raja")
    )
    assert zone.status_code == 422 and "unknown timezone" in zone.text
    rotations = client.get("/api/v1/rotations", headers=auth("noah")).json()
    assert (
        rotations[0]["definition"]["members"] == ["vijay", "michael", "jonathan"]
        and rotations[0]["edited_by"] is None
    )

    edited = client.put("/api/v1/rotations/on_call", json=new, headers=auth("raja"))
    assert edited.status_code == 200 and edited.json()["edited_by"] == "raja"
    # 09:00 UTC on 2 November is 09:00 in London (GMT): the day's 08:00 hand-off was Jonathan's
    now = {r["role"]: r for r in client.get("/api/v1/oncall", headers=auth("noah")).json()}
    assert now["on_call_engineer"]["people"] == ["jonathan"]
    assert (now["on_call_engineer"]["until"], now["on_call_engineer"]["next_person"]) == (
        "2026-11-03T08:00:00Z",
        "noah",
    )
    # Noah now holds the role (and may act in it); Vijay, no longer a member, does not
    with svc.unit_of_work("noah") as ctx:
        assert "on_call_engineer" in people.roles_of(ctx, "noah")
        assert "on_call_engineer" not in people.roles_of(ctx, "vijay")
    key = escalated(svc)
    assert pages(svc)[0][:2] == ("on_call_engineer", "jonathan")
    assert (
        client.post(f"/api/v1/incidents/{key}/bring-in", headers=auth("vijay")).status_code == 403
    )
    reset = client.delete("/api/v1/rotations/on_call", headers=auth("raja"))
    assert reset.json()["definition"]["members"] == ["vijay", "michael", "jonathan"]


def test_the_plain_escalate_action_follows_the_decision_rules(
    client: TestClient, auth: Auth
) -> None:
    dinesh = auth("dinesh")
    client.post("/api/v1/incidents", json={"title": "Checkout down"}, headers=dinesh)
    early = client.post(
        "/api/v1/incidents/INC-1/escalate", json={"role": "on_call_engineer"}, headers=dinesh
    )
    assert (
        early.status_code == 422 and "record the playbook's outcome first" in early.json()["detail"]
    )
    chosen = client.post(
        "/api/v1/incidents/INC-1/escalate",
        json={"role": "on_call_engineer", "person": "vijay"},
        headers=dinesh,
    )
    assert chosen.status_code == 422 and "adds an override" in chosen.json()["detail"]
    to_em = client.post(
        "/api/v1/incidents/INC-1/escalate", json={"role": "engineering_manager"}, headers=dinesh
    )
    assert to_em.status_code == 200 and to_em.json()["owner_person"] == "raja"
    kinds = [
        e["kind"] for e in client.get("/api/v1/incidents/INC-1/timeline", headers=dinesh).json()
    ]
    assert "resolution_clock" in kinds and "decision" in kinds, "the low-severity clock started"


def test_the_on_call_page_shows_forms_to_the_engineering_manager_only(
    client: TestClient, token_for: Callable[[str], str]
) -> None:
    def page_for(person: str) -> str:
        client.cookies.clear()
        client.post("/login", data={"token": token_for(person)})
        response = client.get("/oncall")
        assert response.status_code == 200
        return response.text

    noah, raja = page_for("noah"), page_for("raja")
    for text in (noah, raja):
        assert 'data-role="on_call_engineer"' in text and "on call calendar" in text
    assert "Add override" not in noah and "Save rotation" not in noah
    assert "Add override" in raja and "Save rotation" in raja
    page_for("noah")  # signed in as Noah again
    edit = client.post(
        "/oncall/on_call/overrides",
        data={"who": "noah", "start": "2026-11-03T09:00", "end": "2026-11-03T10:00"},
    )
    assert edit.status_code == 403 and "noah may not edit rotations" in edit.text


def test_the_one_hour_rule_is_on_calls_alone(svc: Services, clock: FakeClock) -> None:
    key = escalated(svc)
    with svc.unit_of_work("michael") as ctx:
        incidents.acknowledge(ctx, key)
    with svc.unit_of_work("dinesh") as ctx:
        incidents.escalate(ctx, key, to_role="engineering_council", note="needs a rollback")
    clock.advance(timedelta(hours=1))
    svc.worker().run_once()
    assert [p[1] for p in pages(svc)] == ["michael"], "the council's incident brings in nobody"
    assert all(kind != "bring_in" for kind, _ in kinds(svc, key))
