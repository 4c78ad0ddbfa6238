"""A process file like the default, with Slack ids for everyone so pages reach Slack DMs."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.escalate import escalation
from escalator.process.triage import playbooks
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack

SLACK_IDS = {
    "santhosh": "U0SANTHOSH",
    "dinesh": "U0DINESH",
    "noah": "U0NOAH",
    "raja": "U0RAJA",
    "jonathan": "U0JONATHAN",
    "vijay": "U0VIJAY",
    "michael": "U0MICHAEL",
}


def escalated(svc: Services, title: str = "checkout down") -> str:
    """An alarm the Support Manager sent to on call (no playbook applied): its key."""
    with svc.unit_of_work("dinesh") as ctx:
        key = opening.open_incident(ctx, title=title, source="alarm", channel="manual").key
        playbooks.conclude(ctx, key, "not_applicable")
        escalation.decide(ctx, key, "on_call")
    return key


def write_process(path: Path, change: Callable[[dict], None] | None = None) -> Path:
    defaults = resources.files("escalator.defaults")
    spec = yaml.safe_load((defaults / "default-process.yaml").read_text())
    for pid, person in spec["people"].items():
        person["slack"] = SLACK_IDS[pid]
    spec["playbooks"]["directory"] = str(defaults / "playbooks")
    if change:
        change(spec)
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def make_paging(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    tmp_path: Path,
) -> Callable[..., Services]:
    """Services with Slack and PagerDuty fakes and a process where everyone has Slack."""

    def make(**settings: object) -> Services:
        return make_services(
            database_url,
            process_file=write_process(tmp_path / "process.yaml"),
            slack_bot_token=SLACK_TOKEN,
            slack_api_url=slack.base_url,
            pagerduty_events_url=pagerduty.url,
            pagerduty_routing_key=ROUTING_KEY,
            public_url="http://escalator.test",
            **settings,
        )

    return make


@pytest.fixture
def paging(make_paging: Callable[..., Services]) -> Services:
    return make_paging()


@pytest.fixture
def paging_client(paging: Services) -> TestClient:
    with TestClient(create_app(paging, run_worker=False)) as client:
        yield client  # type: ignore[misc]
