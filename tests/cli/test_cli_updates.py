"""``escalator update`` and ``escalator updates …``: second tier keeps a caller updated from
the command line; mistakes exit non-zero with the reason."""

import json

import pytest
from typer.testing import CliRunner

from escalator.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("ESCALATOR_DATABASE_URL", database_url)
    monkeypatch.delenv("ESCALATOR_PROCESS_FILE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return database_url


def test_a_caller_is_updated_listed_and_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = runner.invoke(
        app,
        [
            "report",
            "--title",
            "Quotes time out",
            "--caller",
            "Bob",
            "--contact",
            "+1 555 0100",
            "--as",
            "santhosh",
        ],
    )
    key = opened.stdout.strip().splitlines()[-1]
    due = runner.invoke(app, ["updates", "due", "--json"])
    [item] = json.loads(due.stdout)
    assert (item["incident"], item["owed"], item["overdue"]) == (key, ["Bob <+1 555 0100>"], False)

    refused = runner.invoke(app, ["update", key, "--text", "We are on it", "--as", "noah"])
    assert refused.exit_code == 1
    assert f"next: {key} is open, so the update must say when the next one comes" in refused.stderr
    wrong = runner.invoke(app, ["update", key, "--text", "Hi", "--next", "1h", "--as", "santhosh"])
    assert wrong.exit_code == 1 and "santhosh may not update customers" in wrong.stderr

    sent = runner.invoke(
        app,
        [
            "update",
            key,
            "--contact",
            "Bob",
            "--text",
            "Called: restarting quotes.",
            "--next",
            "45m",
            "--as",
            "noah",
        ],
    )
    assert sent.exit_code == 0, sent.stderr
    assert "logged as a call made" in sent.stdout
    shown = runner.invoke(app, ["updates", "show", key, "--json"])
    [bob] = json.loads(shown.stdout)
    assert [(e["direction"], e["state"]) for e in bob["ledger"]] == [
        ("in", "received"),
        ("out", "sent"),
    ]
    assert bob["ledger"][-1]["body"].startswith("Called: restarting quotes.\n\nOur next update")
    table = runner.invoke(app, ["updates", "show", key])
    assert "Bob by phone (+1 555 0100)" in table.stdout

    added = runner.invoke(app, ["updates", "contact", key, "--name", "Eve", "--as", "noah"])
    assert added.exit_code == 1 and "a contact needs a channel" in added.stderr
    assert runner.invoke(app, ["incidents", "resolve", key, "--as", "dinesh"]).exit_code == 0
    not_a_manager = runner.invoke(app, ["updates", "waive", key, "--reason", "x", "--as", "noah"])
    assert not_a_manager.exit_code == 1 and "noah may not waive" in not_a_manager.stderr
    waived = runner.invoke(
        app, ["updates", "waive", key, "--reason", "Bob says no more calls", "--as", "dinesh"]
    )
    assert waived.exit_code == 0, waived.stderr
    assert json.loads(runner.invoke(app, ["updates", "due", "--json"]).stdout) == []
