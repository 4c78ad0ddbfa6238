"""The real Prometheus Alertmanager (Debian's package) posting to Escalator: alerts pushed into
Alertmanager's own API come out as an incident, a PagerDuty trigger and a Slack post, and
their resolution resolves all three."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest

from escalator.api.server import create_app
from escalator.app import Services, build
from escalator.config.settings import Settings
from escalator.process.core import integrations, queries
from escalator.store import migrate
from tests.conftest import need
from tests.e2e.live import free_port, serving
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN, FakeSlack

WIRE = Path(__file__).parents[1] / "wire"
BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def wait_for(check: Callable[[], object], what: str, seconds: float = 45) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def live(
    tmp_path: Path, slack: FakeSlack, pagerduty: FakePagerDuty
) -> Iterator[tuple[Services, str]]:
    svc = build(
        Settings(
            database_url=f"sqlite:///{tmp_path}/e2e.db",
            worker_poll_seconds=0.1,
            slack_bot_token=TOKEN,
            slack_api_url=slack.base_url,
            pagerduty_events_url=pagerduty.url,
            pagerduty_routing_key=ROUTING_KEY,
        )
    )
    migrate.upgrade(svc.db)
    with serving(create_app(svc, run_worker=True)) as base:
        yield svc, base
    svc.db.dispose()


@pytest.fixture
def alertmanager(tmp_path: Path, live: tuple[Services, str]) -> Iterator[str]:
    need(BINARY, "Alertmanager tests skipped: apt-get install prometheus-alertmanager")
    svc, base = live
    with svc.unit_of_work("dinesh") as ctx:
        _, secret = integrations.create(ctx, kind="alertmanager", name="e2e")
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "global: {resolve_timeout: 5m}\n"
        "route: {receiver: escalator, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\n"
        "receivers:\n"
        "  - name: escalator\n"
        "    webhook_configs:\n"
        f"      - url: '{base}/api/v1/intake/alertmanager'\n"
        "        send_resolved: true\n"
        f"        http_config: {{authorization: {{type: Bearer, credentials: '{secret}'}}}}\n"
    )
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                return httpx.get(f"{url}/-/ready").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, "Alertmanager to start", 30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def push(url: str, *, resolved: bool) -> None:
    """The wire example's two alerts: firing (no endsAt: Alertmanager adds resolve_timeout),
    or resolved (endsAt now)."""
    alerts = json.loads((WIRE / "alertmanager_v2_post_alerts.json").read_text())
    for alert in alerts:
        alert.pop("endsAt", None)
        if resolved:
            alert["endsAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    response = httpx.post(f"{url}/api/v2/alerts", json=alerts)
    assert response.status_code == 200, response.text


@pytest.mark.slow
def test_alertmanager_fires_and_resolves_through_escalator(
    live: tuple[Services, str], alertmanager: str, slack: FakeSlack, pagerduty: FakePagerDuty
) -> None:
    svc, _ = live
    push(alertmanager, resolved=False)

    def incident() -> object:
        with svc.db.read() as s:
            items = queries.list_incidents(s).items
            return items[0] if items else None

    opened = wait_for(incident, "the incident")
    key = opened.key  # type: ignore[attr-defined]
    wait_for(
        lambda: pagerduty.alerts.get(f"escalator-{key}") == "triggered", "the PagerDuty trigger"
    )
    wait_for(lambda: slack.roots("#alerts"), "the Slack post")
    with svc.db.read() as s:
        assert queries.list_incidents(s).total == 1, "one group, one incident"
        assert opened.source == "alarm" and opened.channel == "alertmanager"  # type: ignore[attr-defined]

    push(alertmanager, resolved=True)

    def resolved() -> bool:
        with svc.db.read() as s:
            return queries.get_incident(s, key).status == "resolved"

    wait_for(resolved, "the incident to resolve")
    wait_for(
        lambda: pagerduty.alerts.get(f"escalator-{key}") == "resolved", "the PagerDuty resolve"
    )
    [root] = slack.roots("#alerts")
    wait_for(
        lambda: root.text.startswith(f"{key} resolved"), "the Slack root message to show resolved"
    )
    assert [a for a, _ in pagerduty.actions()] == ["trigger", "resolve"], (
        "paged once, resolved once"
    )
