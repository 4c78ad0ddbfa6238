"""The console's desk rules, pure over rows: who is offered which action in which state, the
next step, countdown wording, and times in the person's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.config.process_loader import load_process
from escalator.process.remediate import council
from escalator.web import desk
from escalator.web.routes import _stamp, _when

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PROCESS = load_process()


def incident(**fields: Any) -> Any:
    base: dict[str, Any] = {
        "id": 1,
        "key": "INC-1",
        "status": "open",
        "stage": "triage",
        "owner_role": "first_tier",
        "owner_person": "santhosh",
        "severity": None,
        "policy": None,
        "triage_due_at": NOW + timedelta(minutes=30),
        "resolution_due_at": None,
    }
    return SimpleNamespace(**(base | fields))


def offered(item: Any, person: str, **kw: Any) -> list[tuple[str, bool]]:
    found = desk.offers(item, person, PROCESS.roles_of(person), decisions={"on_call": "x"}, **kw)
    return [(o.action, o.next) for o in found]


@pytest.mark.parametrize(
    ("fields", "person", "kw", "wanted"),
    [
        # the triager's new incident: acknowledge first; never reopen, close or decide
        ({}, "santhosh", {}, [("acknowledge", True), ("triage", False), ("resolve", False)]),
        # acknowledged and untriaged: the checklist is next
        (
            {"status": "acknowledged"},
            "santhosh",
            {},
            [("triage", True), ("resolve", False)],
        ),
        # waiting for the Support Manager: deciding is their next step
        (
            {"owner_role": "support_manager", "owner_person": "dinesh", "stage": "escalate"},
            "dinesh",
            {},
            [("decision", True), ("acknowledge", False), ("resolve", False)],
        ),
        # resolved: the post-mortem is next; close for managers only; reopen
        ({"status": "resolved"}, "santhosh", {}, [("postmortem", True), ("reopen", False)]),
        (
            {"status": "resolved"},
            "dinesh",
            {},
            [("postmortem", True), ("close", False), ("reopen", False)],
        ),
        # resolved by someone else: a first-tier reader may read the post-mortem, not write it
        (
            {"status": "resolved", "owner_person": "michael", "owner_role": "on_call_engineer"},
            "santhosh",
            {},
            [("postmortem", False), ("reopen", False)],
        ),
        # closed: nothing at all, for anyone
        ({"status": "closed"}, "dinesh", {}, []),
        # someone with no role: nothing
        ({}, "nobody", {}, []),
        # paged for help on an acknowledged incident: acknowledge and join
        (
            {
                "status": "acknowledged",
                "stage": "escalate",
                "owner_role": "on_call_engineer",
                "owner_person": "michael",
                "severity": "SEV1",
                "policy": {"chains": {"bring_in": ["sme", "engineering_manager"]}},
            },
            "jonathan",
            {"paging_me": True},
            [("acknowledge", True), ("claim", False), ("bring-in", False), ("resolve", False)],
        ),
    ],
)
def test_only_the_actions_that_make_sense(
    fields: dict[str, Any], person: str, kw: dict[str, Any], wanted: list[tuple[str, bool]]
) -> None:
    got = [(a, n) for a, n in offered(incident(**fields), person, **kw) if a != "escalate"]
    assert got == wanted


def test_on_call_is_offered_to_the_manager_only_once_the_playbook_is_out() -> None:
    waiting = incident(owner_role="support_manager", owner_person="dinesh", stage="escalate")
    roles = PROCESS.roles_of("dinesh")

    def choices(outcome: str | None) -> list[str]:
        found = desk.offers(
            waiting,
            "dinesh",
            roles,
            playbook_outcome=outcome,
            decisions={"apply_playbook": "", "on_call": ""},
        )
        return [v for o in found if o.action == "decision" for v, _ in o.options]

    assert choices(None) == ["apply_playbook"]
    assert choices("failed") == ["apply_playbook", "on_call"]


def test_a_breached_triage_deadline_stays_on_the_incident_overdue() -> None:
    clocks = desk.clocks(incident(triage_due_at=NOW - timedelta(minutes=3)), [], NOW)
    assert [(c.label, c.text, c.tone) for c in clocks] == [("Triage", "overdue 3 min", "overdue")]
    assert desk.clocks(incident(status="resolved"), [], NOW) == []


@given(st.integers(min_value=-10 * 86400, max_value=10 * 86400))
def test_countdown_words(seconds: int) -> None:
    text = desk.countdown(seconds)
    assert text.startswith("overdue " if seconds <= 0 else "due in ")
    if 60 <= abs(seconds) < 7200:
        assert text.endswith(f"{abs(seconds) // 60} min")


def test_times_in_the_persons_timezone_without_microseconds() -> None:
    people = dict(PROCESS.spec.people)
    people["dinesh"] = people["dinesh"].model_copy(update={"timezone": "Asia/Kolkata"})
    spec = PROCESS.spec.model_copy(update={"people": people})
    at = datetime(2026, 11, 2, 9, 0, 5, 123456, tzinfo=UTC)
    context = {"process": spec, "person": "dinesh"}
    assert _when(context, at) == "2026-11-02 14:30:05 IST"
    assert _when({"process": spec, "person": "santhosh"}, at) == "2026-11-02 09:00:05 UTC"
    stamp = str(_stamp(context, at))
    assert 'datetime="2026-11-02T14:30:05.123456+05:30"' in stamp and ">02 Nov 14:30<" in stamp


def escalate_targets(item: Any, person: str, **kw: Any) -> list[str]:
    found = desk.offers(item, person, PROCESS.roles_of(person), decisions={"on_call": "x"}, **kw)
    return [value for o in found if o.action == "escalate" for value, _ in o.options]


def test_on_call_and_the_council_are_offered_only_when_the_process_allows() -> None:
    """The Support Manager's Escalate list follows the decision's rule (on call only once the
    playbook failed or fits nothing); the council not before triage, nor twice."""
    severe = incident(owner_role="support_manager", owner_person="dinesh", stage="escalate")
    assert "on_call_engineer" not in escalate_targets(severe, "dinesh")
    assert "on_call_engineer" not in escalate_targets(severe, "dinesh", playbook_outcome="resolved")
    assert "on_call_engineer" in escalate_targets(severe, "dinesh", playbook_outcome="failed")
    assert "engineering_council" in escalate_targets(severe, "dinesh")
    assert "engineering_council" not in escalate_targets(
        incident(owner_role="support_manager", owner_person="dinesh", stage="alert"), "dinesh"
    )
    before_council = incident(
        status="acknowledged", owner_role="on_call_engineer", owner_person="michael"
    )
    before_council.stage = "remediate"
    assert "engineering_council" not in escalate_targets(before_council, "michael")


def test_acknowledge_is_offered_only_to_the_owning_roles_holders() -> None:
    second = incident(owner_role="second_tier", owner_person="noah", stage="escalate")
    assert ("acknowledge", False) not in offered(second, "santhosh")
    assert all(a != "acknowledge" for a, _ in offered(second, "santhosh"))
    assert offered(second, "noah")[0] == ("acknowledge", True)


def test_bring_to_the_council_waits_for_triage() -> None:
    assert not council.may_bring(incident(stage="alert"))
    assert council.may_bring(incident(status="acknowledged", stage="triage"))
    assert not council.may_bring(incident(status="acknowledged", stage="remediate"))
    assert not council.may_bring(incident(status="resolved", stage="postmortem"))
