"""Backup and restore: a database built through the use cases survives the round trip whole,
table by table, with a second connection writing while the backup is taken."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, select, text
from typer.testing import CliRunner

from escalator.api.server import create_app
from escalator.app import Services
from escalator.cli import app
from escalator.domain.severity import Answers
from escalator.process.alert import opening
from escalator.process.core import incidents, integrations, tokens
from escalator.process.escalate import rotations
from escalator.process.triage import assessment, related, report
from escalator.store import migrate
from escalator.store.db import Database, normalize_url
from tests.conftest import need
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack

runner = CliRunner()
Rows = dict[str, list[tuple[object, ...]]]
MUST_HAVE_ROWS = (
    "incidents",
    "timeline_events",
    "timers",
    "outbox",
    "pages",
    "tickets",
    "alerts",
    "api_tokens",
    "integrations",
    "reports",
    "assessments",
    "incident_links",
    "rotation_overrides",
    "search_docs",
)
WEBHOOK = {
    "version": "4",
    "status": "firing",
    "alerts": [
        {"status": "firing", "labels": {"alertname": "PriceSyncLag", "service": "pricing", "i": i}}
        for i in ("a", "b")
    ]
    + [{"status": "firing", "labels": {"alertname": "CheckoutErrors", "service": "checkout"}}],
}


def build_realistic(svc: Services, clock: FakeClock) -> None:
    """Alarms through intake and the worker, a report triaged, escalations paging on call,
    timers fired and pending, messages sent and still queued."""
    with svc.unit_of_work("dinesh") as ctx:
        tokens.create(ctx, person="dinesh", name="laptop")
        tokens.create(ctx, person="raja")
        _, secret = integrations.create(ctx, kind="alertmanager", name="prod-alertmanager")
        integrations.create(ctx, kind="generic", name="nagios")
    with TestClient(create_app(svc, run_worker=False)) as client:
        posted = client.post(f"/api/v1/intake/alertmanager?token={secret}", json=WEBHOOK)
        assert posted.status_code == 202, posted.text
    worker = svc.worker()
    worker.run_once()  # two alarm incidents open; Slack and PagerDuty hear of them
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(
            ctx, title="ACME sees wrong prices", channel="phone", caller="Wile", account="acme"
        ).key
    with svc.unit_of_work("santhosh") as ctx:
        incidents.acknowledge(ctx, key, note="on it")
        report.update(ctx, key, {"who": "ACME buyers", "what": "prices off by 10%"})
        report.add_link(ctx, key, url="https://grafana.example/d/prices", title="dashboard")
        related.add_bug(ctx, key="BUG-7", title="price cache not invalidated")
    with svc.unit_of_work("santhosh") as ctx:
        answers = Answers(
            users_affected=40,
            account_tier="key",
            user_impact="losing_money",
            business_impact="losing_money",
        )
        assessment.evaluate(ctx, key, answers)
    with svc.unit_of_work("raja") as ctx:
        start = datetime(2026, 11, 3, 9, tzinfo=UTC)
        rotations.add_override(
            ctx, "on_call", person="vijay", start=start, end=start + timedelta(hours=8)
        )
    escalated(svc, "checkout down")
    escalated(svc, "search slow")
    worker.run_once()  # pages go out
    clock.advance(timedelta(minutes=20))
    worker.run_once()  # nobody acknowledged: the next person is paged, warnings fire
    with svc.unit_of_work("santhosh") as ctx:
        incidents.resolve(ctx, key, note="cache flushed")  # its messages stay queued


def sqlite_rows(path: Path) -> Rows:
    """Every table SQLite has, the full-text index's own included, sorted."""
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


def sqlalchemy_rows(url: str) -> Rows:
    engine = create_engine(normalize_url(url))
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                t.name: sorted(conn.execute(select(t)).all(), key=repr)
                for t in meta.tables.values()
            }
    finally:
        engine.dispose()


def assert_same(restored: Rows, original: Rows) -> None:
    assert set(restored) == set(original)
    for table, rows in original.items():
        assert restored[table] == rows, f"table {table} differs"
    empty = [t for t in MUST_HAVE_ROWS if not original[t]]
    assert not empty, f"the realistic database has nothing in {empty}: the test proves less"
    states = {row[8] for row in original["outbox"]}  # pending, sent: both are kept
    assert {"pending", "sent"} <= states


@pytest.fixture
def live(
    make_services: Callable[..., Services],
    tmp_path: Path,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    """A SQLite database in use, with Slack and PagerDuty fakes; the CLI points at it."""
    url = f"sqlite:///{tmp_path}/live.db"
    monkeypatch.setenv("ESCALATOR_DATABASE_URL", url)
    monkeypatch.delenv("ESCALATOR_PROCESS_FILE", raising=False)
    return make_services(
        url,
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
    )


def cli(*args: str, url: str | None = None) -> object:
    env = {"ESCALATOR_DATABASE_URL": url} if url else None
    return runner.invoke(app, list(args), env=env)


def test_a_backup_taken_while_another_connection_writes_restores_every_row(
    live: Services, clock: FakeClock, tmp_path: Path
) -> None:
    build_realistic(live, clock)
    database = tmp_path / "live.db"
    before = sqlite_rows(database)

    written, go = threading.Event(), threading.Event()

    def write_during_the_backup() -> None:
        with live.unit_of_work("santhosh") as ctx:
            opening.report(ctx, title="called in while the backup ran", channel="phone")
            ctx.session.flush()  # on disk in the WAL, holding the write lock, not committed
            written.set()
            assert go.wait(30)

    writer = threading.Thread(target=write_during_the_backup)
    writer.start()
    try:
        assert written.wait(30)
        backup = tmp_path / "backups" / "escalator.db"
        backup.parent.mkdir()
        made = cli("backup", str(backup))
    finally:
        go.set()
        writer.join()
    assert made.exit_code == 0, made.output
    assert made.stdout.strip().splitlines()[-1] == str(backup)
    assert "5 incidents" in made.stderr and "integrity check" in made.stderr
    assert sorted(p.name for p in backup.parent.iterdir()) == ["escalator.db"], "one file"
    assert len(sqlite_rows(database)["incidents"]) == 6, "the writer was not held up"

    fresh = tmp_path / "elsewhere" / "restored.db"
    done = cli("restore", str(backup), url=f"sqlite:///{fresh}")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip().splitlines()[-1] == str(fresh)
    assert "Restored 5 incidents" in done.stderr
    assert_same(sqlite_rows(fresh), before)


def test_backups_taken_while_writes_commit_hold_whole_transactions(
    live: Services, tmp_path: Path
) -> None:
    stop, failures, opened = threading.Event(), [], []

    def keep_writing() -> None:
        while not stop.is_set():
            try:
                with live.unit_of_work("santhosh") as ctx:
                    opened.append(opening.report(ctx, title="steady stream", channel="phone").key)
            except Exception as exc:  # collected and asserted below
                failures.append(exc)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    counts = []
    try:
        for n in range(5):
            backup = tmp_path / f"b{n}.db"
            made = cli("backup", str(backup))
            assert made.exit_code == 0, made.output
            with sqlite3.connect(backup) as conn:
                ids = {r[0] for r in conn.execute("SELECT id FROM incidents")}
                for table in ("reports", "timers", "tickets"):
                    found = {
                        r[0] for r in conn.execute(f"SELECT DISTINCT incident_id FROM {table}")
                    }
                    assert found == ids, f"{table}: every incident whole, or not at all"
                opened_events = {
                    r[0]
                    for r in conn.execute(
                        "SELECT incident_id FROM timeline_events WHERE kind = 'opened'"
                    )
                }
                assert opened_events == ids
            counts.append(len(ids))
    finally:
        stop.set()
        writer.join()
    assert failures == [], "writers are never refused while a backup runs"
    assert counts == sorted(counts) and counts[-1] > counts[0], "writes went on meanwhile"


def test_restore_refuses_a_database_that_already_has_incidents(
    live: Services, tmp_path: Path
) -> None:
    with live.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="the only incident", channel="phone")
    backup = tmp_path / "b.db"
    assert cli("backup", str(backup)).exit_code == 0
    before = sqlite_rows(tmp_path / "live.db")
    refused = cli("restore", str(backup))
    assert refused.exit_code == 2
    assert "already has 1 incident," in refused.stderr
    assert "point ESCALATOR_DATABASE_URL at a new database" in refused.stderr
    assert sqlite_rows(tmp_path / "live.db") == before

    again = cli("backup", str(backup))
    assert again.exit_code == 2 and "pass --replace" in again.stderr
    assert cli("backup", "--replace", str(backup)).exit_code == 0

    migrated_but_empty = tmp_path / "empty.db"
    migrate.upgrade(db := Database(f"sqlite:///{migrated_but_empty}"))
    db.dispose()
    assert cli("restore", str(backup), url=f"sqlite:///{migrated_but_empty}").exit_code == 0


def test_a_file_that_is_not_a_backup_of_ours_is_refused(live: Services, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path}/new.db"
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database")
    newer = tmp_path / "newer.db"
    assert cli("backup", str(newer)).exit_code == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    for file, says in (
        (tmp_path / "missing.db", "there is no file"),
        (text_file, "is not a SQLite database"),
        (newer, "made by a newer Escalator (schema 9999_from_the_future)"),
    ):
        refused = cli("restore", str(file), url=target)
        assert refused.exit_code == 2, refused.output
        assert says in refused.stderr
    assert not (tmp_path / "new.db").exists(), "nothing was created"


def test_a_backup_from_an_older_schema_restores_and_is_migrated_to_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = Database(f"sqlite:///{tmp_path}/old.db")
    migrate.upgrade(old, "0005")  # before outbox.rank
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (channel, destination, subject, body, payload, "
                "idempotency_key, state, attempts, next_attempt_at, created_at, result) VALUES "
                "('console', 'dinesh', 'hello', '', '{}', 'k1', 'pending', 0, "
                "'2026-11-02 09:00:00', '2026-11-02 09:00:00', '{}')"
            )
        )
    old.dispose()
    monkeypatch.setenv("ESCALATOR_DATABASE_URL", f"sqlite:///{tmp_path}/old.db")
    backup = tmp_path / "old-backup.db"
    assert cli("backup", str(backup)).exit_code == 0

    fresh = f"sqlite:///{tmp_path}/new.db"
    done = cli("restore", str(backup), url=fresh)
    assert done.exit_code == 0, done.output
    assert f"(schema 0005 -> {migrate.head_revision()})" in done.stderr
    db = Database(fresh)
    try:
        assert migrate.is_at_head(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT subject, rank FROM outbox")).all() == [("hello", 1)]
    finally:
        db.dispose()


def test_on_postgresql_backup_prints_the_pg_dump_to_run_without_the_password() -> None:
    url = "postgresql+psycopg://escalator:s3cret@db.example:5433/escalator?sslmode=require"
    made = cli("backup", "/backups/escalator.dump", url=url)
    assert made.exit_code == 2
    command = made.stdout.strip().splitlines()[-1]
    assert shlex.split(command) == [
        "pg_dump",
        "--format=custom",
        "--file=/backups/escalator.dump",
        "--dbname=postgresql://escalator@db.example:5433/escalator?sslmode=require",
    ]
    assert "s3cret" not in made.output and "PGPASSWORD" in made.stderr


@pytest.fixture
def pg_live(
    make_services: Callable[..., Services],
    pg_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
) -> Services:
    return make_services(
        pg_url,
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
    )


@pytest.fixture
def other_database(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the same server, with the same search_path."""
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield normalize_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_on_postgresql_the_printed_commands_make_a_round_trip(
    pg_live: Services, pg_url: str, other_database: str, clock: FakeClock, tmp_path: Path
) -> None:
    need(shutil.which("pg_dump") and shutil.which("pg_restore"), "pg_dump/pg_restore not found")
    build_realistic(pg_live, clock)
    dump = tmp_path / "escalator.dump"
    made = cli("backup", str(dump), url=pg_url)
    assert made.exit_code == 2 and "pg_dump" in made.stderr
    subprocess.run(shlex.split(made.stdout.strip().splitlines()[-1]), check=True)

    told = cli("restore", str(dump), url=other_database)
    assert told.exit_code == 2, told.output
    pg_restore, then = told.stdout.strip().splitlines()[-2:]
    assert then == "escalator migrate"
    subprocess.run(shlex.split(pg_restore), check=True)
    assert cli("migrate", url=other_database).exit_code == 0
    assert_same(sqlalchemy_rows(other_database), sqlalchemy_rows(pg_url))

    refused = cli("restore", str(dump), url=other_database)
    assert refused.exit_code == 2 and "already has 5 incidents" in refused.stderr
