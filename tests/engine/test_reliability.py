"""The worker cannot silently stop: one bad item is retried then set aside while the others
go on; a failing step does not end the loop; a heartbeat in the database tells /readyz and
/metrics; `escalator worker` exits non-zero when it cannot go on."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from escalator.api.server import create_app
from escalator.app import Services
from escalator.engine import handlers
from escalator.process.alert import opening as alert_stage
from escalator.process.core import queries
from escalator.store.models import OutboxMessage, Ticket
from tests.fakes import FakeClock
from tests.fakes.jira import TOKEN, USER, FakeJira


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    yield fake
    fake.close()


def report(svc: Services, title: str = "Checkout shows $0") -> str:
    with svc.unit_of_work("santhosh") as ctx:
        return alert_stage.report(ctx, title=title).key


def test_a_jira_key_equal_to_a_built_in_one_is_a_second_ticket_not_a_dead_worker(
    make_services: Callable[..., Services], database_url: str, jira: FakeJira
) -> None:
    """Run without JIRA (built-in MCT-1), then with a fresh JIRA whose project is also MCT:
    its first ticket is MCT-1 too. That used to fail the unique key and end the worker."""
    before = make_services(database_url)
    report(before, "Before JIRA")
    before.worker().run_once()
    after = make_services(database_url, jira_url=jira.url, jira_user=USER, jira_token=TOKEN)
    report(after, "After JIRA")
    after.worker().run_once()
    with after.db.read() as s:
        tickets = [(t.tracker, t.key) for t in s.scalars(select(Ticket).order_by(Ticket.id))]
        dead = s.scalars(select(OutboxMessage).where(OutboxMessage.state == "dead")).all()
    assert tickets == [("builtin", "MCT-1"), ("jira", "MCT-1")]
    assert dead == []


def test_a_receipt_that_cannot_be_stored_is_retried_and_the_batch_goes_on(
    make_services: Callable[..., Services],
    database_url: str,
    jira: FakeJira,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = make_services(database_url, jira_url=jira.url, jira_user=USER, jira_token=TOKEN)
    report(svc)
    failures = [RuntimeError("disk full")]
    original = handlers.RECEIPTS["ticket.created"]

    def flaky(ctx: object, payload: dict, result: dict) -> None:
        if failures:
            raise failures.pop()
        original(ctx, payload, result)  # type: ignore[arg-type]

    monkeypatch.setitem(handlers.RECEIPTS, "ticket.created", flaky)
    worker = svc.worker()
    worker.run_once()
    with svc.db.read() as s:
        rows = {r.channel: r for r in s.scalars(select(OutboxMessage))}
        assert rows["jira"].state == "pending" and "disk full" in (rows["jira"].last_error or "")
        assert rows["console"].state == "sent", "the other messages of the batch were recorded"
    clock.advance(timedelta(minutes=1))
    worker.run_once()
    with svc.db.read() as s:
        assert s.scalars(select(Ticket)).one().key == "MCT-1"
    assert jira.creates == 1, "the retried create found its ticket rather than filing another"


def test_the_loop_survives_a_failing_step_and_its_heartbeat_says_so(
    svc: Services, clock: FakeClock
) -> None:
    report(svc)
    worker = svc.worker("w1")
    broken = [RuntimeError("database is restarting")] * 3

    def fire() -> int:
        if broken:
            raise broken.pop()
        return 0

    worker.fire_due_timers = fire  # type: ignore[method-assign]
    done, error = worker.round()
    assert error == "fire_due_timers: RuntimeError: database is restarting"
    assert done == 2, "the other steps delivered the report's two console messages"
    with svc.db.read() as s:
        [beat] = queries.workers(s)
        assert (beat.failures, beat.progress_at, beat.last_error) == (1, None, error)

    stop = threading.Event()
    rounds = 0
    original_round = worker.round

    def counted() -> tuple[int, str | None]:
        nonlocal rounds
        rounds += 1
        if rounds == 4:
            stop.set()
        return original_round()

    worker.round = counted  # type: ignore[method-assign]
    thread = threading.Thread(target=worker.run, args=(stop, 0.001))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and rounds == 4, "failing rounds did not end the loop"
    with svc.db.read() as s:
        [beat] = queries.workers(s)
        assert beat.failures == 0 and beat.progress_at == clock.now(), "it recovered"
        assert beat.stopped_at == clock.now(), "and says it stopped"


def test_timers_set_aside_show_on_the_messages_page(
    svc: Services, clock: FakeClock, token_for: Callable[[str], str]
) -> None:
    key = report(svc)

    def explode(ctx: object, incident: object, timer: object) -> None:
        raise RuntimeError("no such rotation: nights")

    worker = svc.worker()
    worker.handlers = {"triage.deadline": explode, "triage.warning": explode}
    for _ in range(8):
        clock.advance(timedelta(hours=1))
        worker.run_once()
    with TestClient(create_app(svc, run_worker=False)) as client:
        client.post("/login", data={"token": token_for("santhosh")})
        page = client.get("/messages").text
    assert "Set aside by the worker" in page
    assert "clock triage deadline" in page and f'href="/incidents/{key}"' in page
    assert "RuntimeError: no such rotation: nights" in page


def test_readyz_fails_and_metrics_show_it_when_no_worker_makes_progress(
    svc: Services, clock: FakeClock
) -> None:
    worker = svc.worker("w1")
    with TestClient(create_app(svc, run_worker=False)) as client:
        worker.round()
        assert client.get("/readyz").status_code == 200
        clock.advance(timedelta(seconds=61))
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert "no worker has got through a round of work in the last 1m" in stale.json()["detail"]
        assert (
            'escalator_worker_progress_age_seconds{worker="w1"} 61.0' in client.get("/metrics").text
        )
        worker.fire_due_timers = lambda: 1 / 0  # type: ignore[method-assign,assignment,return-value]
        worker.round()  # it beats, but does not get through a round
        failing = client.get("/readyz")
        assert failing.status_code == 503 and "ZeroDivisionError" in failing.json()["detail"]
        assert 'escalator_worker_failing_rounds{worker="w1"} 1.0' in client.get("/metrics").text


def test_escalator_worker_exits_non_zero_when_it_cannot_get_through_a_round(
    tmp_path: Path, database_url: str, svc: Services
) -> None:
    """A damaged schema: every round fails; after ESCALATOR_WORKER_GIVE_UP_SECONDS the
    process exits 3 for its supervisor to restart it (and alert someone)."""
    engine = create_engine(svc.db.engine.url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE rotation_overrides"))
    engine.dispose()
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": database_url,
        "ESCALATOR_WORKER_GIVE_UP_SECONDS": "1",
        "ESCALATOR_WORKER_POLL_SECONDS": "0.05",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "escalator", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert "no round has succeeded for" in done.stderr
    assert time.monotonic() - started < 50


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def console_sent(svc: Services) -> int:
    with svc.db.read() as s:
        return len(s.scalars(select(OutboxMessage).where(OutboxMessage.state == "sent")).all())


def test_an_idle_worker_wakes_for_new_work_not_at_its_next_poll(
    make_services: Callable[..., Services], database_url: str
) -> None:
    """The worker polls every 10 minutes here, yet a report's messages go at once: a commit
    in this process wakes it (and on PostgreSQL, one in another process, by NOTIFY)."""
    worker_svc = make_services(database_url)
    stop = threading.Event()
    thread = threading.Thread(target=worker_svc.worker("w").run, args=(stop, 600.0))
    thread.start()
    try:
        time.sleep(0.5)  # let it arm its hand-offs and settle into its idle wait
        report(worker_svc)  # a use case of the worker's own process
        assert wait_for(lambda: console_sent(worker_svc) == 2), "woken in-process"
        if worker_svc.db.is_postgres:
            other = make_services(database_url)  # another process's Database
            report(other)
            assert wait_for(lambda: console_sent(worker_svc) == 4), "woken by NOTIFY"
    finally:
        stop.set()
        worker_svc.db.work.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_an_idle_worker_sleeps_until_the_next_thing_is_due(svc: Services, clock: FakeClock) -> None:
    report(svc)
    worker = svc.worker()
    worker.run_once()  # the console messages went; the triage warning is due in 20 minutes
    assert worker._until_due(3600, 0.5) == 20 * 60
    assert worker._until_due(60, 0.5) == 60, "never longer than the longest wait"
    worker.outbox.paused[("slack", "#alerts")] = clock.now() + timedelta(seconds=7)
    assert worker._until_due(3600, 0.5) == 7, "a destination's pause ends sooner"
    clock.advance(timedelta(minutes=21))  # overdue, as if the round could not do it
    assert worker._until_due(3600, 0.5) == 0.5
