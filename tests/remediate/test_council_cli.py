"""``escalator council …`` and ``escalator change add``, as a person at a terminal."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from escalator.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("ESCALATOR_DATABASE_URL", database_url)
    monkeypatch.delenv("ESCALATOR_PROCESS_FILE", raising=False)
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return database_url


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    crash = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout + result.stderr + (repr(crash) if crash else "")


def test_the_council_from_the_command_line() -> None:
    code, text = run("change", "add", "--summary", "deploy 2026.11.2", "--as", "vijay")
    assert code == 0 and "change 1 recorded" in text
    code, text = run("report", "--title", "checkout fails", "--as", "santhosh")
    assert code == 0, text
    code, text = run("council", "bring", "INC-1", "--note", "needs the council", "--as", "santhosh")
    assert code == 1 and "escalate to engineering_council" in text
    code, text = run("council", "bring", "INC-1", "--note", "needs the council", "--as", "dinesh")
    assert code == 0, text
    code, text = run("council", "queue")
    assert code == 0 and "INC-1" in text and "checkout fails" in text
    code, text = run(
        "council",
        "decide",
        "INC-1",
        "rollback_flag",
        "--flag",
        "new-checkout",
        "--env",
        "production",
        "--reasons",
        "errors since it went on",
        "--as",
        "noah",
    )
    assert code == 1 and "noah may not record council decisions" in text
    code, text = run(
        "council",
        "decide",
        "INC-1",
        "rollback_flag",
        "--flag",
        "new-checkout",
        "--env",
        "production",
        "--reasons",
        "errors since it went on",
        "--as",
        "jonathan",
    )
    assert code == 0 and "awaiting_approval; 2 approval(s) needed" in text, text
    for member in ("raja", "vijay"):
        code, text = run("council", "approve", "INC-1", "1", "--as", member)
        assert code == 0, text
    code, text = run("council", "show", "INC-1")
    assert code == 0 and "manual" in text and "turn it off in the production" in text, text
    assert "before: deploy 2026.11.2" in text
    code, text = run("council", "confirm", "INC-1", "1", "--as", "michael")
    assert code == 0 and "confirmed done" in text
    code, text = run("council", "confirm", "INC-1", "1", "--as", "michael")
    assert code == 1 and "only a rollback to do by hand" in text
