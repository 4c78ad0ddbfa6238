"""The process rules a walkthrough found broken: who may acknowledge, the council keeping on
call in charge, questions made moot by resolving, and triage read-only once resolved."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalator.app import Services
from escalator.domain.lifecycle import IllegalTransition
from escalator.domain.permissions import Forbidden
from escalator.domain.severity import Answers
from escalator.process.alert import opening
from escalator.process.core import incidents, queries
from escalator.process.core.errors import InvalidInput
from escalator.process.escalate import paging
from escalator.process.remediate import council, decisions
from escalator.process.triage import assessment, playbooks, report
from escalator.store.models import CouncilCase, CouncilDecision, OutboxMessage, TimelineEvent
from escalator.web import desk
from tests.escalation.conftest import escalated
from tests.web.test_console_sessions import sign_in

Auth = Callable[[str], dict[str, str]]


def kinds(svc: Services, key: str) -> list[tuple[str, str | None, str | None, str]]:
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        rows = s.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident.id)
            .order_by(TimelineEvent.id)
        )
        return [(e.kind, e.field, e.after, e.note) for e in rows]


def offered(svc: Services, key: str, person: str) -> list[str]:
    with svc.db.read() as s:
        item = queries.get_incident(s, key)
        found = desk.offers(item, person, svc.process.roles_of(person), decisions={"on_call": "x"})
    return [o.action for o in found]


def test_only_the_owning_roles_holders_acknowledge(
    svc: Services, client: TestClient, auth: Auth
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="exports fail", caller="Bob", account="acme").key
        incidents.escalate(ctx, key, to_role="second_tier", to_person="noah")
    # santhosh (first tier) is not offered it, and is refused it everywhere
    assert "acknowledge" not in offered(svc, key, "santhosh")
    assert "acknowledge" in offered(svc, key, "noah")
    refusal = r"santhosh may not acknowledge INC-1, which is with second tier"
    with pytest.raises(Forbidden, match=refusal), svc.unit_of_work("santhosh") as ctx:
        paging.acknowledge(ctx, key)
    refused = client.post(f"/api/v1/incidents/{key}/acknowledge", headers=auth("santhosh"))
    assert refused.status_code == 403 and "second_tier" in refused.json()["detail"]
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        assert (incident.status, incident.owner_role, incident.owner_person) == (
            "open",
            "second_tier",
            "noah",
        )
        assert paging.responders(s, incident) == [], "nobody is in charge before acknowledging"
    with svc.unit_of_work("noah") as ctx:
        paging.acknowledge(ctx, key)
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        assert (incident.status, incident.owner_person) == ("acknowledged", "noah")
        assert [(r.person, r.role, r.in_charge) for r in paging.responders(s, incident)] == [
            ("noah", "second_tier", True)
        ]


def test_the_council_decides_while_on_call_stays_in_charge(svc: Services) -> None:
    key = escalated(svc)
    with svc.db.read() as s:
        on_call = queries.get_incident(s, key).owner_person
    assert on_call
    with svc.unit_of_work(on_call) as ctx:
        paging.acknowledge(ctx, key)
    with svc.unit_of_work(on_call) as ctx:
        council.bring(ctx, key, note="a flag went on before it started")
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        assert (
            incident.status,
            incident.stage,
            incident.owner_role,
            incident.owner_person,
        ) == ("acknowledged", "remediate", "on_call_engineer", on_call)
        case = s.get(CouncilCase, incident.id)
        assert case is not None and case.state == "waiting" and case.brought_by == on_call
        told = {m.destination for m in s.scalars(select(OutboxMessage)) if "council" in m.subject}
        assert {"jonathan", "raja", "vijay", "michael"} <= told
    changed = [(k, f) for k, f, _, _ in kinds(svc, key) if k == "escalate"]
    assert ("escalate", "stage") in changed[-1:]
    assert all(f not in ("status", "owner_person", "owner_role") for _, f in changed[-1:])
    offers = offered(svc, key, on_call)
    assert "acknowledge" not in offers and "claim" not in offers
    with svc.db.read() as s:
        item = queries.get_incident(s, key)
        targets = [
            value
            for o in desk.offers(item, "dinesh", svc.process.roles_of("dinesh"))
            if o.action == "escalate"
            for value, _ in o.options
        ]
    assert "engineering_council" not in targets, "not to the council again"


def test_resolving_makes_the_councils_open_question_moot(svc: Services) -> None:
    key = escalated(svc)
    with svc.db.read() as s:
        on_call = queries.get_incident(s, key).owner_person
    assert on_call
    with svc.unit_of_work(on_call) as ctx:
        paging.acknowledge(ctx, key)
        council.bring(ctx, key)
    with svc.unit_of_work("jonathan") as ctx:
        asked = decisions.decide(
            ctx,
            key,
            "gather_info",
            reasons="which accounts?",
            params={"ask": "second_tier", "question": "Which accounts fail?", "due": "4h"},
        )
        asked_id = asked.id
    with svc.db.read() as s:
        body = next(m.body for m in s.scalars(select(OutboxMessage)) if m.destination == "noah")
    # where to answer in the console first, the command line as the alternative
    assert f"/incidents/{key}/council" in body and "escalator council answer" in body
    assert body.index("/council") < body.index("escalator council answer")
    with svc.unit_of_work(on_call) as ctx:
        incidents.resolve(ctx, key, note="flag off")
    with svc.db.read() as s:
        row = s.get(CouncilDecision, asked_id)
        assert row is not None and row.state == "moot"
        incident = queries.get_incident(s, key)
        case = s.get(CouncilCase, incident.id)
        assert case is not None and case.state == "closed"
    notes = [(k, n) for k, _, _, n in kinds(svc, key)]
    assert any(k == "info_moot" and "resolved" in n for k, n in notes)
    assert any(k == "council_case_closed" and "moot" in n for k, n in notes)
    with pytest.raises(InvalidInput, match="not an open request"), svc.unit_of_work("noah") as ctx:
        decisions.answer(ctx, key, asked_id, text="acme")


def test_triage_is_read_only_once_resolved(
    svc: Services, client: TestClient, auth: Auth, token_for: Callable[[str], str]
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="exports fail", caller="Bob", account="acme").key
        incidents.acknowledge(ctx, key)
        incidents.resolve(ctx, key, note="fixed itself")
    before = kinds(svc, key)
    answers = Answers(5, "key", "degraded", "none")
    refusals: list[Callable[[], object]] = []
    with svc.unit_of_work("santhosh") as ctx:
        refusals = [
            lambda: report.update(ctx, key, {"what": "changed"}),
            lambda: report.add_link(ctx, key, url="https://logs.example/1"),
            lambda: assessment.evaluate(ctx, key, answers),
            lambda: playbooks.conclude(ctx, key, "not_applicable"),
        ]
        for attempt in refusals:
            with pytest.raises(IllegalTransition, match="the incident is resolved") as caught:
                attempt()
            assert "escalate" not in str(caught.value)
    assert kinds(svc, key) == before, "nothing stored"
    answered = client.post(
        f"/api/v1/incidents/{key}/assessments",
        json={"users_affected": 5, "user_impact": "degraded", "business_impact": "none"},
        headers=auth("santhosh"),
    )
    assert answered.status_code == 409, answered.text
    assert "cannot assess the severity: the incident is resolved" in answered.json()["detail"]
    # the console offers none of the checklist's forms, and says why
    sign_in(client, token_for("santhosh"))
    page = client.get(f"/incidents/{key}/triage").text
    assert "is resolved: the checklist is kept as it was" in page
    assert 'method="post"' not in page.split('<ol class="checklist">', 1)[1]


def test_a_manager_who_brings_it_to_the_council_is_not_chased_for_a_decision(
    svc: Services,
) -> None:
    with svc.unit_of_work("dinesh") as ctx:
        key = opening.open_incident(
            ctx, title="checkout down", source="alarm", channel="manual"
        ).key
        incidents.escalate(ctx, key, to_role="support_manager", to_person="dinesh")
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        assert (incident.owner_role, incident.owner_person) == ("support_manager", "dinesh")
    with svc.unit_of_work("dinesh") as ctx:
        paging.acknowledge(ctx, key)
        council.bring(ctx, key, note="a flag went on")
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        assert (incident.status, incident.owner_person) == ("acknowledged", "dinesh")
        pending = {t.kind for t in queries.pending_timers(s, incident)}
    assert "escalate.manager_decision" not in pending
    assert "council.deadline" in pending
    with svc.db.read() as s:
        item = queries.get_incident(s, key)
        found = desk.offers(item, "dinesh", svc.process.roles_of("dinesh"), decisions={"x": "x"})
    assert not any(o.next and o.action == "decision" for o in found), "not the next step"
