"""Tickets in JIRA: filed once even when the first create times out after JIRA accepted it;
commented on at key events; transitioned to Done when the incident resolves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalator.app import Services
from escalator.integrations.outbound.jira import JiraSender
from escalator.process.alert import opening as alert_stage
from escalator.process.core import incidents, queries
from escalator.store.models import Ticket
from tests.fakes import FakeClock
from tests.fakes.http import Reply
from tests.fakes.jira import TOKEN, USER, FakeJira


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    yield fake
    fake.close()


@pytest.fixture
def jira_svc(make_services: Callable[..., Services], database_url: str, jira: FakeJira) -> Services:
    svc = make_services(database_url, jira_url=jira.url, jira_user=USER, jira_token=TOKEN)
    sender = svc.senders["jira"]
    assert isinstance(sender, JiraSender)
    sender.timeout = 1.0  # so the slow create below times out quickly
    return svc


def ticket(svc: Services) -> Ticket:
    with svc.db.read() as s:
        return s.scalars(select(Ticket)).one()


def test_a_create_that_timed_out_after_jira_took_it_is_not_filed_twice(
    jira_svc: Services, jira: FakeJira, clock: FakeClock
) -> None:
    jira.slow_creates, jira.delay = 1, 2.0
    with jira_svc.unit_of_work("santhosh") as ctx:
        key = alert_stage.report(ctx, title="Checkout shows $0 totals", account="acme").key
    worker = jira_svc.worker()
    worker.run_once()
    assert jira.creates == 1 and ticket(jira_svc).key is None, "the answer was lost"
    clock.advance(timedelta(seconds=5))
    worker.run_once()
    assert jira.creates == 1, "the retry found the ticket instead of filing another"
    [issue] = jira.issues.values()
    assert ticket(jira_svc).key == issue["key"] == "MCT-1"
    assert issue["fields"]["labels"] == [f"escalator-{key}"]
    assert issue["fields"]["project"] == {"key": "MCT"}

    with jira_svc.unit_of_work("santhosh") as ctx:
        incidents.escalate(ctx, key, to_role="support_manager", note="key account blocked")
    with jira_svc.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, key, note="pricing rule rolled back")
    worker.run_once()
    assert any("Escalated to support_manager" in c for c in jira.comments["MCT-1"])
    assert issue["fields"]["status"] == {"name": "Done"}
    assert "pricing rule rolled back" in jira.comments["MCT-1"][-1]
    with jira_svc.db.read() as s:
        assert queries.get_incident(s, key).status == "resolved"


def test_jira_down_delays_the_ticket_not_the_triage(
    jira_svc: Services, jira: FakeJira, clock: FakeClock
) -> None:
    jira.faults = [Reply(503, b"maintenance")] * 3
    with jira_svc.unit_of_work("santhosh") as ctx:
        key = alert_stage.report(ctx, title="Quotes slow").key
    with jira_svc.unit_of_work("santhosh") as ctx:
        incidents.acknowledge(ctx, key)  # triage goes on meanwhile
    worker = jira_svc.worker()
    for _ in range(6):
        worker.run_once()
        clock.advance(timedelta(seconds=30))
    assert not jira.faults, "JIRA was down for the first tries"
    assert ticket(jira_svc).key == "MCT-1" and jira.creates == 1
