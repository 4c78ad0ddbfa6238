"""The seed's COMMUNICATE rule with a fake clock: a SEV1 customer incident → second tier is
reminded at 50 minutes → nothing is sent → overdue at 60 minutes, the Support Manager is
told → an update promising the next in 30 minutes → due in 30 minutes → severity lowered to
SEV3, the clock re-planned → resolved → the incident closes only once the customer was told."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalator.app import Services
from escalator.domain.severity import Answers
from escalator.process.communicate import updates
from escalator.process.core import incidents, queries
from escalator.process.core.errors import InvalidInput
from escalator.process.postmortem import retrospective
from escalator.process.triage import assessment
from escalator.store.models import Contact, CustomerUpdate, OutboxMessage, Timer
from tests.communicate.conftest import customer_mail, receive
from tests.fakes import FakeClock
from tests.fakes.smtp import MailCatcher

BLOCKED_KEY_ACCOUNT = Answers(
    users_affected=40, account_tier="key", user_impact="blocked", business_impact="losing_money"
)
DEGRADED = Answers(
    users_affected=40, account_tier="key", user_impact="degraded", business_impact="none"
)


def console(svc: Services, person: str) -> list[str]:
    with svc.db.read() as s:
        rows = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.channel == "console", OutboxMessage.destination == person
            )
        )
        return [r.subject for r in rows]


def due_at(svc: Services) -> tuple[object, dict[str, object]]:
    """Bob's due time, and the incident's pending update timers."""
    with svc.db.read() as s:
        bob = s.scalars(select(Contact)).one()
        timers = {
            t.kind: t.due_at
            for t in s.scalars(select(Timer).where(Timer.state == "pending"))
            if t.kind.startswith("communicate.")
        }
        return bob.due_at, timers


def test_a_sev1_customer_is_updated_hourly_and_told_before_the_incident_closes(
    talking: Services, clock: FakeClock, mailer: MailCatcher
) -> None:
    start = clock.now()
    worker = talking.worker()
    first = customer_mail(
        "Checkout returns 502",
        "Every checkout fails since 8:55.",
        msgid="<CAHk1aB3qP0s@mail.acme.com>",
    )
    key = receive(talking, first)

    # TRIAGE: a key account blocked and losing money is SEV1 → cadence 1h from the report
    clock.advance(timedelta(minutes=5))
    with talking.unit_of_work("santhosh") as ctx:
        assessment.evaluate(ctx, key, BLOCKED_KEY_ACCOUNT)
    due, timers = due_at(talking)
    assert due == start + timedelta(hours=1)
    assert timers == {
        "communicate.reminder": start + timedelta(minutes=50),
        "communicate.overdue": start + timedelta(hours=1),
    }

    # 50 minutes: second tier on duty (Noah) is reminded; nothing is sent
    clock.set(start + timedelta(minutes=50))
    worker.run_once()
    assert "[INC-1] Customer update due in 10 min: Checkout returns 502" in console(talking, "noah")
    assert not any("Customer update overdue" in s for s in console(talking, "dinesh"))

    # 60 minutes: overdue; the Support Manager (Dinesh) is told
    clock.set(start + timedelta(minutes=60))
    worker.run_once()
    assert "[INC-1] Customer update overdue: Checkout returns 502" in console(talking, "dinesh")
    with talking.db.read() as s:
        notes = [e.note for e in queries.timeline(s, queries.get_incident(s, key))]
    assert any(n.startswith("customer update overdue since 10:00 UTC for Bob Buyer") for n in notes)

    # Noah sends an update promising the next one in 30 minutes; it counts once delivered
    clock.set(start + timedelta(minutes=65))
    with talking.unit_of_work("noah") as ctx:
        [row] = updates.send(ctx, key, text="We are rolling back the release.", next_update="30m")
        assert row.state == "pending"
    assert due_at(talking)[0] == start + timedelta(hours=1), "not told until it was sent"
    worker.run_once()
    [mail] = mailer.to("bob@acme.com")
    assert mail["In-Reply-To"] == "<CAHk1aB3qP0s@mail.acme.com>"
    assert (
        "Our next update will reach you by Mon 2 Nov, 10:35 UTC."
        in mail.get_body(("plain",)).get_content()
    )
    due, timers = due_at(talking)
    assert due == start + timedelta(minutes=95), "the promise is sooner than the hour"
    assert timers == {
        "communicate.reminder": start + timedelta(minutes=85),
        "communicate.overdue": start + timedelta(minutes=95),
    }

    # at 10:20 Noah promises the next in 2 hours: SEV1's hour is sooner and rules
    clock.set(start + timedelta(minutes=80))
    with talking.unit_of_work("noah") as ctx:
        updates.send(ctx, key, text="Rollback done; watching error rates.", next_update="2h")
    worker.run_once()
    assert due_at(talking)[0] == start + timedelta(minutes=140)

    # triage lowers it to SEV3 (4h): the clock is re-planned and the 2h promise now rules
    clock.set(start + timedelta(minutes=90))
    with talking.unit_of_work("santhosh") as ctx:
        assessment.evaluate(ctx, key, DEGRADED)
    due, timers = due_at(talking)
    assert due == start + timedelta(minutes=200)
    assert timers["communicate.overdue"] == start + timedelta(minutes=200)

    # resolved: Noah is asked for the final update, and the incident cannot close without it
    clock.set(start + timedelta(minutes=120))
    with talking.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, key, note="rollback fixed it")
    assert "[INC-1] Tell the customer it is resolved: Checkout returns 502" in console(
        talking, "noah"
    )
    assert due_at(talking)[1] == {}, "no cadence once resolved"
    never_told = re.escape("Bob Buyer <bob@acme.com> was never told it was resolved")
    with pytest.raises(InvalidInput, match=never_told), talking.unit_of_work("dinesh") as ctx:
        incidents.close(ctx, key)
    with talking.unit_of_work("noah") as ctx:
        updates.send(ctx, key, text="Checkout works again. Sorry for the trouble.")
    with pytest.raises(InvalidInput, match="never told"), talking.unit_of_work("dinesh") as ctx:
        incidents.close(ctx, key)  # queued is not told
    worker.run_once()
    with talking.unit_of_work("dinesh") as ctx:
        retrospective.waive(ctx, key, reason="reviewed with the INC-0 post-mortem")
        assert incidents.close(ctx, key).status == "closed"

    with talking.db.read() as s:
        ledger = s.scalars(select(CustomerUpdate).order_by(CustomerUpdate.id)).all()
        assert [(r.direction, r.kind, r.state, r.since_last_seconds) for r in ledger] == [
            ("in", "report", "received", None),
            ("out", "update", "sent", 65 * 60),
            ("out", "update", "sent", 15 * 60),
            ("out", "resolution", "sent", 40 * 60),
        ]
        kinds = [e.kind for e in queries.timeline(s, queries.get_incident(s, key))]
    assert kinds.count("customer_told") == 3 and "resolution_notice_owed" in kinds
