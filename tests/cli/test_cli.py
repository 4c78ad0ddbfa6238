import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import escalator.cli as cli_module
from escalator.app import build
from escalator.cli import app, common
from escalator.config.process_loader import default_process_text
from escalator.config.settings import Settings
from escalator.process.core import console_sessions
from tests.unit.test_process_file import THREE_MISTAKES

runner = CliRunner()


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("ESCALATOR_DATABASE_URL", database_url)
    monkeypatch.delenv("ESCALATOR_PROCESS_FILE", raising=False)
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    return database_url


def test_check_passes_the_default_and_names_every_mistake(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["check"])
    assert ok.exit_code == 0 and "7 people, 7 roles, 2 rotations" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(THREE_MISTAKES)
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 1
    assert "3 problems" in result.stderr
    for line in (7, 10, 14):
        assert f"{bad}:{line}:" in result.stderr


def test_check_names_a_bad_intake_rate_limit_with_its_line(tmp_path: Path) -> None:
    text = default_process_text()
    line = text.splitlines().index("    per_second: 50") + 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("    per_second: 50\n", "    per_second: lots\n"))
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:{line}: intake.rate_limit.per_second: per_second 'lots' is not a rate" in (
        result.stderr
    )


def test_commands_refuse_to_start_on_a_bad_process_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(THREE_MISTAKES)
    monkeypatch.setenv("ESCALATOR_PROCESS_FILE", str(bad))
    for command in (["serve"], ["worker", "--once"], ["incidents", "list"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, command
        assert "roles.support_manager.colour" in result.stderr


def test_token_create_prints_the_token_alone_on_the_last_line() -> None:
    result = runner.invoke(app, ["token", "create", "--person", "raja"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("esc_") and len(token) > 40
    assert token not in result.stderr and "shown once" in result.stderr
    listed = runner.invoke(app, ["token", "list"])
    assert "raja" in listed.stdout and token not in listed.stdout
    unknown = runner.invoke(app, ["token", "create", "--person", "bob"])
    assert unknown.exit_code == 2 and "'bob' is not in the process file" in unknown.stderr


def test_report_then_list_show_and_act(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    # the console may have measured its terminal before (pytest-xdist's workers have none)
    monkeypatch.setattr(common.out, "_width", 200)
    opened = runner.invoke(
        app,
        [
            "report",
            "--title",
            "Forum: prices wrong",
            "--as",
            "santhosh",
            "--channel",
            "forum",
            "--account",
            "acme",
        ],
    )
    assert opened.exit_code == 0, opened.output
    assert opened.stdout.strip().splitlines()[-1] == "INC-1"
    listed = json.loads(runner.invoke(app, ["incidents", "list", "--json"]).stdout)
    assert [(i["key"], i["channel"], i["details"]) for i in listed] == [
        ("INC-1", "forum", {"account": "acme", "account_name": "ACME Corp", "account_tier": "key"})
    ]
    ack = runner.invoke(app, ["incidents", "ack", "INC-1", "--as", "dinesh"])
    assert ack.exit_code == 0
    shown = json.loads(runner.invoke(app, ["incidents", "show", "INC-1", "--json"]).stdout)
    assert shown["status"] == "acknowledged"
    acknowledged = [e for e in shown["timeline"] if e["kind"] == "acknowledge"]
    assert acknowledged[0] | {"at": None} == {
        "at": None,
        "actor": "dinesh",
        "kind": "acknowledge",
        "field": "status",
        "from": "open",
        "to": "acknowledged",
        "note": "",
        "data": {},
    }
    table = runner.invoke(app, ["incidents", "show", "INC-1"])
    assert "acknowledge" in table.stdout and "open → acknowledged" in table.stdout


def test_errors_go_to_stderr_with_a_non_zero_exit() -> None:
    assert runner.invoke(app, ["incidents", "show", "INC-9"]).exit_code == 1
    nobody = runner.invoke(app, ["report", "--title", "x", "--as", "bob"])
    assert nobody.exit_code == 2 and "--as 'bob' is not a person" in nobody.stderr
    runner.invoke(app, ["report", "--title", "x", "--as", "noah"])
    refused = runner.invoke(app, ["incidents", "escalate", "INC-1", "--to", "sme", "--as", "noah"])
    assert refused.exit_code == 1 and "needs the role" in refused.stderr


def test_integrations_from_the_cli() -> None:
    added = runner.invoke(app, ["integration", "add", "cloudwatch", "--name", "aws-prod"])
    assert added.exit_code == 0, added.output
    url = added.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:8080/api/v1/intake/cloudwatch?token=esi_")
    assert "basic auth" in added.stderr
    listed = runner.invoke(app, ["integration", "list"])
    assert "aws-prod" in listed.stdout and url.split("token=")[1] not in listed.stdout
    bad = runner.invoke(app, ["integration", "add", "nagios", "--name", "x"])
    assert bad.exit_code == 2 and "'nagios' is not one of" in bad.stderr
    assert runner.invoke(app, ["integration", "revoke", "1"]).exit_code == 0
    assert runner.invoke(app, ["integration", "revoke", "1"]).exit_code == 1


def test_console_sessions_from_the_cli(database: str) -> None:
    token = runner.invoke(app, ["token", "create", "--person", "santhosh"]).stdout.split()[-1]
    svc = build(Settings(database_url=database))
    try:
        with svc.unit_of_work("test") as ctx:
            console_sessions.open_session(ctx, token=token, user_agent="Firefox")
    finally:
        svc.db.dispose()
    listed = json.loads(
        runner.invoke(app, ["session", "list", "--as", "santhosh", "--json"]).stdout
    )
    assert [(s["id"], s["user_agent"], s["state"]) for s in listed] == [(1, "Firefox", "live")]
    table = runner.invoke(app, ["session", "list", "--as", "santhosh"])
    assert "Firefox" in table.stdout and "live" in table.stdout and "ess_" not in table.stdout
    assert (
        json.loads(runner.invoke(app, ["session", "list", "--as", "dinesh", "--json"]).stdout) == []
    )
    theirs = runner.invoke(app, ["session", "revoke", "1", "--as", "dinesh"])
    assert theirs.exit_code == 1 and "dinesh has no live console session with id 1" in theirs.stderr
    assert runner.invoke(app, ["session", "revoke", "1", "--as", "santhosh"]).exit_code == 0
    listed = json.loads(
        runner.invoke(app, ["session", "list", "--as", "santhosh", "--json"]).stdout
    )
    assert listed[0]["state"] == "revoked"
    nobody = runner.invoke(app, ["session", "list", "--as", "bob"])
    assert nobody.exit_code == 2 and "--as 'bob' is not a person" in nobody.stderr


def test_messages_from_the_cli() -> None:
    runner.invoke(app, ["report", "--title", "x", "--as", "noah"])
    listed = json.loads(runner.invoke(app, ["messages", "list", "--json"]).stdout)
    assert [(m["channel"], m["state"]) for m in listed] == [("console", "pending")] * 2
    refused = runner.invoke(app, ["messages", "retry", str(listed[0]["id"]), "--as", "noah"])
    assert refused.exit_code == 1 and "only dead messages" in refused.stderr


def test_triage_from_the_cli() -> None:
    runner.invoke(
        app,
        ["report", "--title", "Prices show $0 for ACME", "--as", "santhosh", "--account", "acme"],
    )
    shown = json.loads(runner.invoke(app, ["triage", "INC-1", "--as", "santhosh", "--json"]).stdout)
    assert shown["ticket"] == "MCT-1" and shown["playbooks"][0]["entry"] == "zero-prices"
    done = runner.invoke(
        app,
        [
            "triage",
            "INC-1",
            "--as",
            "santhosh",
            "--who",
            "ACME storefront shoppers",
            "--playbook",
            "failed",
            "--users",
            "50",
            "--impact",
            "blocked",
            "--stakeholder",
            "Bob",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "INC-1: SEV1: blocked + key account" in done.stderr
    after = json.loads(done.stdout)
    assert after["report"]["who"] == "ACME storefront shoppers"
    assert after["playbooks"][0]["outcome"] == "failed"
    assert after["owner"] == "dinesh (support_manager)"
    bad = runner.invoke(app, ["triage", "INC-1", "--as", "santhosh", "--users", "5"])
    assert bad.exit_code == 2 and "--users needs --impact" in bad.stderr


def test_oncall_from_the_cli() -> None:
    now = json.loads(runner.invoke(app, ["oncall", "now", "--json"]).stdout)
    on_call = next(r for r in now if r["role"] == "on_call_engineer")
    assert on_call["rotation"] == "on_call" and len(on_call["people"]) == 1 and on_call["until"]
    schedule = runner.invoke(
        app, ["oncall", "schedule", "on_call_engineer", "--days", "14", "--json"]
    )
    shifts = json.loads(schedule.stdout)
    assert len(shifts) in (2, 3), "weekly turns over two weeks"
    assert shifts[0]["person"] == on_call["people"][0]

    cover = ["--person", "jonathan", "--start", "2030-01-01T09:00", "--end", "2030-01-01T17:00"]
    refused = runner.invoke(app, ["oncall", "override", "on_call", "--as", "noah", *cover])
    assert refused.exit_code == 1 and "noah may not edit rotations" in refused.stderr
    backwards = ["--person", "jonathan", "--start", "2030-01-02T09:00", "--end", "2030-01-01T17:00"]
    bad = runner.invoke(app, ["oncall", "override", "on_call", "--as", "raja", *backwards])
    assert bad.exit_code == 1 and "ends (2030-01-01 17:00) before it starts" in bad.stderr
    made = runner.invoke(app, ["oncall", "override", "on_call", "--as", "raja", *cover])
    assert made.exit_code == 0, made.output
    assert (
        "override #1: jonathan covers on_call 2030-01-01 09:00 → 2030-01-01 17:00 UTC"
        in made.stdout
    )
    overlap = ["--person", "vijay", "--start", "2030-01-01T16:00", "--end", "2030-01-01T20:00"]
    clash = runner.invoke(app, ["oncall", "override", "on_call", "--as", "raja", *overlap])
    assert clash.exit_code == 1 and "overlaps override #1" in clash.stderr
    feeds = runner.invoke(app, ["oncall", "feeds", "--as", "vijay"]).stdout
    assert (
        "/calendar/rotation/on_call.ics?token=" in feeds
        and "/calendar/person/vijay.ics?token=" in feeds
    )


def test_the_support_managers_decision_from_the_cli() -> None:
    runner.invoke(app, ["report", "--title", "Checkout down", "--as", "santhosh"])
    early = runner.invoke(app, ["incidents", "decide", "INC-1", "on_call", "--as", "dinesh"])
    assert early.exit_code == 1 and "record the playbook's outcome first" in early.stderr
    runner.invoke(app, ["incidents", "decide", "INC-1", "no_playbook", "--as", "dinesh"])
    paged = runner.invoke(app, ["incidents", "decide", "INC-1", "on_call", "--as", "dinesh"])
    assert paged.exit_code == 0, paged.output
    assert "now with on_call_engineer" in paged.stdout
    pages = json.loads(runner.invoke(app, ["incidents", "pages", "INC-1", "--json"]).stdout)
    assert [(p["chain"], p["step"], p["state"]) for p in pages] == [("on_call", 0, "paging")]
    person = pages[0]["person"]
    acked = runner.invoke(app, ["incidents", "ack", "INC-1", "--as", person])
    assert acked.exit_code == 0
    pages = json.loads(runner.invoke(app, ["incidents", "pages", "INC-1", "--json"]).stdout)
    assert pages[0]["state"] == "acknowledged" and pages[0]["acked_by"] == person
    brought = runner.invoke(app, ["incidents", "bring-in", "INC-1", "--as", person])
    assert brought.exit_code == 0, brought.output
    pages = json.loads(runner.invoke(app, ["incidents", "pages", "INC-1", "--json"]).stdout)
    assert pages[-1]["chain"] == "bring_in" and pages[-1]["state"] in ("paging", "skipped")


def test_the_engineering_manager_sets_a_rotation_from_the_cli() -> None:
    refused = runner.invoke(app, ["oncall", "set", "sme", "--as", "vijay", "--members", "noah"])
    assert refused.exit_code == 1 and "vijay may not edit rotations" in refused.stderr
    bad = runner.invoke(app, ["oncall", "set", "sme", "--as", "raja", "--handoff", "25:00"])
    assert bad.exit_code == 1 and "--handoff" in bad.stderr
    done = runner.invoke(
        app, ["oncall", "set", "sme", "--as", "raja", "--members", "noah, vijay", "--shift", "1d"]
    )
    assert done.exit_code == 0, done.output
    assert "sme: noah, vijay, 1d shifts from 2026-01-05 handing over at 09:00 UTC" in done.stdout
    shifts = json.loads(
        runner.invoke(app, ["oncall", "schedule", "sme", "--days", "3", "--json"]).stdout
    )
    assert {s["person"] for s in shifts} == {"noah", "vijay"}
    assert runner.invoke(app, ["oncall", "reset", "sme", "--as", "raja"]).exit_code == 0
    shifts = json.loads(
        runner.invoke(app, ["oncall", "schedule", "sme", "--days", "3", "--json"]).stdout
    )
    assert {s["person"] for s in shifts} <= {"michael", "jonathan", "vijay"}


@pytest.mark.parametrize("token_id", [str(2**31), "99999999999999999999"])
def test_revoking_a_token_id_no_row_can_have_says_there_is_none(token_id: str) -> None:
    result = runner.invoke(app, ["token", "revoke", token_id])
    assert result.exit_code == 1, result.output
    assert f"no live token with id {token_id}" in result.stderr


def test_the_cli_says_what_a_new_user_would_trip_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14, item 11: the intake URL's address, unknown list filters, a copied process
    file without its playbooks, and a report kept by the triager on duty who took it."""
    monkeypatch.delenv("ESCALATOR_PUBLIC_URL", raising=False)
    guessed = runner.invoke(app, ["integration", "add", "generic", "--name", "x"])
    assert "ESCALATOR_PUBLIC_URL is not set" in guessed.stderr
    monkeypatch.setenv("ESCALATOR_PUBLIC_URL", "https://escalator.example.com")
    told = runner.invoke(app, ["integration", "add", "generic", "--name", "y"])
    assert (
        told.stdout.strip()
        .splitlines()[-1]
        .startswith("https://escalator.example.com/api/v1/intake/generic?token=")
    )
    assert "not set" not in told.stderr

    bogus = runner.invoke(app, ["incidents", "list", "--stage", "bogus"])
    assert bogus.exit_code == 2
    assert "--stage: no such value 'bogus'; use one of alert, triage, escalate" in bogus.stderr
    assert runner.invoke(app, ["incidents", "list", "--status", "opened"]).exit_code == 2

    copied = tmp_path / "process.yaml"
    copied.write_text(default_process_text())
    check = runner.invoke(app, ["check", str(copied)])
    assert check.exit_code == 1
    assert "playbooks.directory: no playbook directory" in check.stderr
    assert "cp -r" in check.stderr and str(tmp_path / "playbooks") in check.stderr

    for person in ("santhosh", "dinesh"):  # both first tier, both on duty
        runner.invoke(app, ["report", "--title", f"call from {person}'s customer", "--as", person])
    listed = json.loads(runner.invoke(app, ["incidents", "list", "--json"]).stdout)
    assert [(i["key"], i["owner_person"]) for i in listed] == [
        ("INC-2", "dinesh"),
        ("INC-1", "santhosh"),
    ]


@pytest.mark.parametrize(("setting", "logged"), [(None, False), ("true", True)])
def test_serve_writes_no_line_per_request_unless_asked(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, logged: bool
) -> None:
    """uvicorn's access log costs intake about a seventh of its CPU under a storm: off unless
    ESCALATOR_ACCESS_LOG asks for it."""
    started: list[dict[str, object]] = []
    monkeypatch.setattr(cli_module.uvicorn, "run", lambda *a, **kw: started.append(kw))
    if setting is None:
        monkeypatch.delenv("ESCALATOR_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("ESCALATOR_ACCESS_LOG", setting)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert [kw["access_log"] for kw in started] == [logged]
