"""A process like the default with Slack for everyone, and its playbooks copied where the
test may publish new entries."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import integrations
from tests.e2e.conftest import browser  # noqa: F401  (the browser tests' fixture)
from tests.escalation.conftest import write_process
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack


def alarm(name: str, service: str, status: str = "firing") -> dict[str, object]:
    """An Alertmanager webhook with one alert."""
    return {
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "service": service},
                "annotations": {"summary": f"{name} on {service}"},
            }
        ]
    }


@pytest.fixture
def playbooks_dir(tmp_path: Path) -> Path:
    target = tmp_path / "playbooks"
    shutil.copytree(str(resources.files("escalator.defaults") / "playbooks"), target)
    return target


@pytest.fixture
def pm(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    tmp_path: Path,
    playbooks_dir: Path,
) -> Services:
    def change(spec: dict) -> None:  # type: ignore[type-arg]
        spec["playbooks"]["directory"] = "playbooks"

    return make_services(
        database_url,
        process_file=write_process(tmp_path / "process.yaml", change),
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
        public_url="http://escalator.test",
    )


@pytest.fixture
def pm_client(pm: Services) -> Iterator[TestClient]:
    with TestClient(create_app(pm, run_worker=False)) as client:
        yield client


@pytest.fixture
def intake(pm: Services) -> str:
    """An Alertmanager integration's intake path with its secret."""
    with pm.unit_of_work("dinesh") as ctx:
        secret = integrations.create(ctx, kind="alertmanager", name="prod")[1]
    return f"/api/v1/intake/alertmanager?token={secret}"
