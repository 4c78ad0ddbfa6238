"""`escalator slack doctor` says what is missing, and exits 0 only when Slack can work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli import app
from tests.escalation.conftest import write_process
from tests.fakes.slack import APP_TOKEN, SIGNING_SECRET, TOKEN, FakeSlack

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_TOKEN", "SIGNING_SECRET", "APP_TOKEN", "API_URL"):
        monkeypatch.delenv(f"ESCALATOR_SLACK_{name}", raising=False)
    monkeypatch.delenv("ESCALATOR_PROCESS_FILE", raising=False)


def test_doctor(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, tmp_path: Path) -> None:
    nothing = runner.invoke(app, ["slack", "doctor"])
    assert nothing.exit_code == 1 and "ESCALATOR_SLACK_BOT_TOKEN" in nothing.stdout

    monkeypatch.setenv("ESCALATOR_SLACK_API_URL", slack.base_url)
    monkeypatch.setenv("ESCALATOR_SLACK_BOT_TOKEN", "xoxb-wrong")
    refused = runner.invoke(app, ["slack", "doctor"])
    assert refused.exit_code == 1 and "invalid_auth" in refused.stdout

    monkeypatch.setenv("ESCALATOR_SLACK_BOT_TOKEN", TOKEN)
    slack.scopes = "chat:write,channels:read"
    slack.channels = [{"id": "C0ALERTS", "name": "alerts", "is_member": True}]
    missing = runner.invoke(app, ["slack", "doctor"])
    assert missing.exit_code == 1, missing.stdout
    out = missing.stdout
    assert "scope commands" in out and "add commands under OAuth & Permissions" in out
    assert "no signing secret, no app token" in out
    assert "channel #support not found" in out and "channel #alerts: the app is in it" in out
    assert "no Slack id for dinesh" in out  # the default process file names no Slack ids

    slack.scopes = "chat:write,commands,channels:read,channels:history,groups:history"
    slack.channels.append({"id": "C0SUPPORT", "name": "support", "is_member": False})
    monkeypatch.setenv("ESCALATOR_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("ESCALATOR_SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("ESCALATOR_PROCESS_FILE", str(write_process(tmp_path / "process.yaml")))
    outside = runner.invoke(app, ["slack", "doctor"])
    assert outside.exit_code == 1 and "/invite @escalator in #support" in outside.stdout
    assert "the app token is refused" in outside.stdout  # no Socket Mode URL to give

    slack.channels[1]["is_member"] = True
    slack.socket_url = "ws://127.0.0.1:9/link"
    ready = runner.invoke(app, ["slack", "doctor"])
    assert ready.exit_code == 0, ready.stdout
    assert "Slack is ready." in ready.stdout and "FAIL" not in ready.stdout
    assert "warn" not in ready.stdout
