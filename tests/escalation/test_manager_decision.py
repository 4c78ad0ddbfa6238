"""The Support Manager's decision clock (``clocks.manager_decision``): started when a severe
incident reaches them, stopped by their decision, recorded and told again when it runs out."""

from __future__ import annotations

from datetime import timedelta

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import incidents
from escalator.process.escalate import escalation
from escalator.store.models import OutboxMessage, Timer
from tests.escalation.test_escalation_rules import kinds
from tests.fakes import FakeClock


def _to_the_manager(svc: Services, title: str) -> str:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title=title).key
        incidents.escalate(ctx, key, to_role="support_manager", note="SEV1 by the stakeholder")
    return key


def test_the_decision_clock_runs_out_or_stops_at_the_decision(
    svc: Services, clock: FakeClock
) -> None:
    late = _to_the_manager(svc, "Checkout down")
    decided = _to_the_manager(svc, "Search down")
    with svc.db.read() as s:
        due = s.query(Timer).filter_by(kind=escalation.MANAGER_DECISION, state="pending").all()
        assert sorted(t.incident_id for t in due) == [1, 2]
        assert {t.due_at for t in due} == {clock.now() + timedelta(minutes=15)}
    with svc.unit_of_work("dinesh") as ctx:
        escalation.decide(ctx, decided, "apply_playbook")
    clock.advance(timedelta(minutes=16))
    svc.worker().run_once()
    assert ("decision_overdue", "no escalation decision within 15m") in kinds(svc, late)
    assert "decision_overdue" not in [k for k, _ in kinds(svc, decided)]
    with svc.db.read() as s:
        told = s.query(OutboxMessage).filter(OutboxMessage.subject.contains("Decision overdue"))
        assert {(m.incident_id, m.destination) for m in told if m.channel == "console"} == {
            (1, "dinesh")
        }
