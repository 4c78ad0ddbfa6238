"""Escalator with Slack on (the fake Slack's Web API, its signing secret) and a process file
where everyone has a Slack id; the fake Slack sends its signed requests through ``app``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from tests.escalation.conftest import write_process
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import SIGNING_SECRET, FakeSlack
from tests.fakes.slack import TOKEN as SLACK_TOKEN


@pytest.fixture
def slacked(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    tmp_path: Path,
) -> Services:
    return make_services(
        database_url,
        process_file=write_process(tmp_path / "process.yaml"),
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        slack_signing_secret=SIGNING_SECRET,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
        public_url="http://escalator.test",
    )


@pytest.fixture
def app(slacked: Services) -> Iterator[TestClient]:
    with TestClient(create_app(slacked, run_worker=False)) as client:
        yield client
