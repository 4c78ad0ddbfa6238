"""REMEDIATE's fixtures: Escalator with Slack, PagerDuty and a fake Unleash, a process where
everyone has a Slack id, and an alarm incident on call has acknowledged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.integrations.outbound.unleash import Unleash, UnleashSender
from escalator.process.remediate.rollback import UNLEASH
from escalator.store.models import OutboxMessage
from tests.escalation.conftest import write_process
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack
from tests.fakes.unleash import TOKEN, FakeUnleash

COUNCIL = ("jonathan", "raja", "vijay", "michael")


@pytest.fixture
def unleash() -> Iterator[FakeUnleash]:
    fake = FakeUnleash()
    fake.add("payments", "new-checkout", development=True, production=True)
    yield fake
    fake.close()


@pytest.fixture
def council_svc(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    unleash: FakeUnleash,
    tmp_path: Path,
) -> Services:
    """Slack, PagerDuty and Unleash fakes; everyone has a Slack id."""
    svc = make_services(
        database_url,
        process_file=write_process(tmp_path / "process.yaml"),
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
        public_url="http://escalator.test",
        unleash_url=unleash.url,
        unleash_token=TOKEN,
    )
    # a short client timeout, so that a slow answer is a timeout the outbox retries
    svc.senders[UNLEASH] = UnleashSender(Unleash(url=unleash.url, token=TOKEN, timeout=0.3))
    return svc


@pytest.fixture
def api(council_svc: Services) -> Iterator[TestClient]:
    with TestClient(create_app(council_svc, run_worker=False)) as client:
        yield client


def console_subjects(svc: Services, person: str) -> list[str]:
    with svc.db.read() as session:
        rows = session.query(OutboxMessage).filter_by(channel="console", destination=person)
        return [r.subject for r in rows]
