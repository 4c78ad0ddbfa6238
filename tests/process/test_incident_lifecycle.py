from datetime import timedelta

import pytest
from sqlalchemy import select

from escalator.app import Services
from escalator.domain.lifecycle import IllegalTransition
from escalator.domain.permissions import Forbidden
from escalator.process.alert import opening
from escalator.process.core import incidents, queries
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.store.models import OutboxMessage, Timer
from tests.fakes import FakeClock


def open_report(svc: Services, by: str = "santhosh") -> str:
    with svc.unit_of_work(by) as ctx:
        return opening.report(ctx, title="Cloud pricing shows $0", caller="Bob", account="acme").key


def test_a_phone_report_opens_notifies_first_tier_and_starts_the_triage_clock(
    svc: Services,
) -> None:
    key = open_report(svc)
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        assert (incident.status, incident.stage, incident.owner_role) == (
            "open",
            "alert",
            "first_tier",
        )
        assert incident.details == {
            "caller": "Bob",
            "account": "acme",
            "account_name": "ACME Corp",
            "account_tier": "key",
        }
        assert incident.reporter == "santhosh"
        opened, assigned = queries.timeline(s, incident)[:2]
        assert (opened.kind, opened.actor) == ("opened", "santhosh")
        assert (assigned.kind, incident.owner_person) == ("assigned", "santhosh")
        timers = {t.kind: t.due_at for t in s.scalars(select(Timer)).all()}
        assert timers == {
            "triage.deadline": incident.created_at + timedelta(minutes=30),
            "triage.warning": incident.created_at + timedelta(minutes=20),
            # Bob is owed an update an hour after calling, triage or not
            "communicate.reminder": incident.created_at + timedelta(minutes=50),
            "communicate.overdue": incident.created_at + timedelta(hours=1),
        }
        to = sorted(m.destination for m in s.scalars(select(OutboxMessage)).all())
        assert to == ["dinesh", "santhosh"]


def test_every_change_is_on_the_timeline_with_who_when_and_from_to(
    svc: Services, clock: FakeClock
) -> None:
    key = open_report(svc)
    clock.advance(timedelta(minutes=3))
    with svc.unit_of_work("santhosh") as ctx:
        incidents.acknowledge(ctx, key)
    clock.advance(timedelta(minutes=5))
    with svc.unit_of_work("santhosh") as ctx:
        incidents.escalate(ctx, key, to_role="support_manager", note="customer blocked")
    clock.advance(timedelta(minutes=20))
    with svc.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, key, note="playbook step 2 fixed it")
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        rows = [
            (e.actor, e.kind, e.field, e.before, e.after) for e in queries.timeline(s, incident)
        ]
        times = [e.at for e in queries.timeline(s, incident)]
    assert rows == [
        ("santhosh", "opened", None, None, None),
        ("santhosh", "assigned", None, None, None),
        ("santhosh", "playbook_attached", None, None, None),  # "$0" matches zero-prices
        ("santhosh", "contact_added", None, None, None),  # Bob, to be kept updated
        ("santhosh", "acknowledge", "status", "open", "acknowledged"),
        ("santhosh", "acknowledge", "stage", "alert", "triage"),
        ("santhosh", "escalate", "status", "acknowledged", "open"),
        ("santhosh", "escalate", "stage", "triage", "escalate"),
        ("santhosh", "escalate", "owner_role", "first_tier", "support_manager"),
        ("santhosh", "escalate", "owner_person", "santhosh", "dinesh"),
        ("dinesh", "resolve", "status", "open", "resolved"),
        ("dinesh", "resolve", "stage", "escalate", "postmortem"),
        ("dinesh", "resolution_notice_owed", None, None, None),
        ("dinesh", "postmortem_started", None, None, None),
    ]
    assert times == sorted(times) and times[-1] - times[0] == timedelta(minutes=28)


def test_resolving_twice_is_refused_and_changes_nothing(svc: Services) -> None:
    key = open_report(svc)
    with svc.unit_of_work("santhosh") as ctx:
        incidents.resolve(ctx, key)
    with (
        pytest.raises(IllegalTransition, match="cannot resolve an incident that is resolved"),
        svc.unit_of_work("santhosh") as ctx,
    ):
        incidents.resolve(ctx, key)
    with (
        pytest.raises(IllegalTransition, match="cannot escalate"),
        svc.unit_of_work("dinesh") as ctx,
    ):
        incidents.escalate(ctx, key, to_role="on_call_engineer")
    with svc.db.read() as s:
        assert [e.kind for e in queries.timeline(s, queries.get_incident(s, key))].count(
            "resolve"
        ) == 2


def test_roles_are_checked_and_the_refusal_names_the_role(svc: Services) -> None:
    key = open_report(svc)
    with (
        pytest.raises(Forbidden, match="needs the role support_manager"),
        svc.unit_of_work("santhosh") as ctx,
    ):
        incidents.escalate(ctx, key, to_role="on_call_engineer")
    refusal = (
        "noah may not close incidents: it needs the role engineering_manager or support_manager"
    )
    with pytest.raises(Forbidden, match=refusal), svc.unit_of_work("noah") as ctx:
        incidents.close(ctx, key)


def test_escalation_pages_the_rotation_holder_and_stops_the_triage_clock(svc: Services) -> None:
    key = open_report(svc)
    with svc.unit_of_work("dinesh") as ctx:
        incident = incidents.escalate(ctx, key, to_role="on_call_engineer")
        expected = svc.process.primary("on_call_engineer", ctx.now)
        assert incident.owner_person == expected
    with svc.db.read() as s:
        states = {t.kind: t.state for t in s.scalars(select(Timer)).all()}
        assert states == {
            "triage.deadline": "cancelled",
            "triage.warning": "cancelled",
            "communicate.reminder": "pending",  # Bob is still owed his updates
            "communicate.overdue": "pending",
        }
        paged = [
            m.destination
            for m in s.scalars(select(OutboxMessage)).all()
            if "Escalated" in m.subject
        ]
        assert paged == [expected]


def test_unknown_things_are_named(svc: Services) -> None:
    key = open_report(svc)
    with pytest.raises(NotFound, match="INC-999"), svc.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, "INC-999")
    with pytest.raises(NotFound, match="keys look like INC-42"), svc.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, "banana")
    with pytest.raises(InvalidInput, match="unknown role 'ceo'"), svc.unit_of_work("dinesh") as ctx:
        incidents.escalate(ctx, key, to_role="ceo")
