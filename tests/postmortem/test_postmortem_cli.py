"""The seed's POST MORTEM from the command line: write, add action items, review, close (or
waive), and the weekly report in every format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalator.cli import app
from escalator.domain.weekly import week_at

runner = CliRunner()


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("ESCALATOR_DATABASE_URL", database_url)
    monkeypatch.delenv("ESCALATOR_PROCESS_FILE", raising=False)
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return database_url


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_post_mortem_from_the_command_line(tmp_path: Path) -> None:
    assert run("report", "--title", "Prices show $0 for ACME", "--as", "santhosh")[0] == 0
    assert run("incidents", "resolve", "INC-1", "--as", "santhosh")[0] == 0

    code, _, err = run("incidents", "close", "INC-1", "--as", "dinesh")
    assert code == 1 and "INC-1 cannot be closed: its post-mortem has not been reviewed" in err
    code, _, err = run(
        "postmortem", "write", "INC-1", "--root-cause", "gremlins", "--as", "santhosh"
    )
    assert code == 1 and "unknown root cause 'gremlins'" in err
    code, _, _ = run(
        "postmortem", "write", "INC-1", "--as", "santhosh",
        "--root-cause", "config_change", "--factor", "cache TTL", "--factor", "no alarm",
        "--detected-by", "customer", "--service", "pricing",
        "--went-well", "found fast", "--went-badly", "customer told us",
    )  # fmt: skip
    assert code == 0
    code, _, err = run(
        "action", "add", "INC-1", "--kind", "other", "--title", "x", "--as", "santhosh"
    )
    assert code == 1 and "every action item needs an owner" in err
    code, out, _ = run(
        "action", "add", "INC-1", "--as", "santhosh", "--kind", "alarm_threshold",
        "--title", "Alarm on stale prices sooner", "--owner", "vijay", "--due", "2099-01-15",
        "--detail", "alarm=PriceSyncLag", "--detail", "direction=down",
        "--detail", "from=10m", "--detail", "to=5m",
    )  # fmt: skip
    assert code == 0 and out.strip().splitlines()[-1] == "1"
    listed = json.loads(run("action", "list", "--json")[1])
    assert [(i["id"], i["kind"], i["owner"], i["state"]) for i in listed] == [
        (1, "alarm_threshold", "vijay", "open")
    ]
    shown = json.loads(run("postmortem", "show", "INC-1", "--json")[1])
    assert shown["factors"] == ["cache TTL", "no alarm"] and shown["missing"] == []
    assert run("postmortem", "reviewed", "INC-1", "--as", "santhosh")[0] == 1  # not a manager
    assert run("postmortem", "reviewed", "INC-1", "--as", "dinesh")[0] == 0
    code, out, _ = run("incidents", "close", "INC-1", "--as", "dinesh")
    assert code == 0 and "INC-1 closed" in out
    assert run("action", "wont-do", "1", "--as", "vijay")[0] == 1  # needs a reason
    assert run("action", "wont-do", "1", "--as", "vijay", "--reason", "alarm retired")[0] == 0

    # a waiver, in the same command as the close
    run("report", "--title", "Opened by mistake", "--as", "santhosh")
    run("incidents", "resolve", "INC-2", "--as", "santhosh")
    code, out, _ = run("incidents", "close", "INC-2", "--as", "dinesh", "--waive", "a test")
    assert code == 0 and "INC-2 closed" in out

    # the weekly report, in every format
    this_week = week_at(datetime.now(UTC))  # the command line runs on the system clock
    code, out, _ = run("report", "weekly")
    assert code == 0 and out.startswith(f"# Weekly report {this_week}")
    figures = json.loads(run("report", "weekly", "--week", str(this_week), "--format", "json")[1])
    assert figures["incidents"]["this_week"] == 2
    assert run("report", "weekly", "--week", "2026-W45", "--format", "csv")[1].startswith(
        "section,figure,label,2026-W45,2026-W44"
    )
    target = tmp_path / "week.html"
    code, out, _ = run("report", "weekly", "--format", "html", "--output", str(target))
    assert code == 0 and out.strip() == str(target)
    assert '<img src="data:image/svg+xml;base64,' in target.read_text()
    code, _, err = run("report", "weekly", "--week", "last week")
    assert code == 1 and "ISO week like 2026-W48" in err
    code, _, err = run("report")
    assert code == 2 and "give --title and --as" in err
