"""A worker killed with SIGKILL in the middle of a batch loses nothing and doubles nothing:
its transaction rolls back, the next worker fires those timers (saying how late), and every
incident's next person is paged exactly once."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.escalate import escalation
from escalator.process.triage import playbooks
from escalator.store.models import OutboxMessage, Page, TimelineEvent, Timer
from tests.engine.test_two_workers_pg import start_worker
from tests.fakes import FakeClock

COUNT = 300


def ack_timeouts(svc: Services) -> dict[str, int]:
    with svc.db.read() as s:
        query = (
            select(Timer.state, func.count())
            .where(Timer.kind == "escalation.ack_timeout")
            .group_by(Timer.state)
        )
        return dict(s.execute(query).all())


def waiting_on_a_lock(svc: Services, holder: int) -> bool:
    """Some session (the worker's) waits for a lock that backend ``holder`` holds: sessions of
    other tests on the same server do not count."""
    with svc.db.read() as s:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))"
        )
        return bool(s.scalar(query, {"holder": holder}))


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
    pg_url: str, make_services: Callable[..., Services], clock: FakeClock, tmp_path: Path
) -> None:
    # an hour ago, COUNT incidents were escalated to on call; nobody acknowledged
    clock.set(datetime.now(UTC) - timedelta(hours=1))
    svc = make_services(pg_url)
    with svc.unit_of_work("dinesh") as ctx:
        keys = [
            opening.open_incident(ctx, title=f"checkout {n}", source="alarm", channel="manual").key
            for n in range(COUNT)
        ]
        for key in keys:
            playbooks.conclude(ctx, key, "not_applicable")
            escalation.decide(ctx, key, "on_call")
    assert ack_timeouts(svc) == {"pending": COUNT}

    # hold one incident in the middle, so the worker's batch stops there, half done
    held = create_engine(pg_url)
    lock = held.connect()
    middle = COUNT // 2
    lock.execute(text("SELECT id FROM incidents WHERE id = :id FOR UPDATE"), {"id": middle})
    holder = lock.execute(text("SELECT pg_backend_pid()")).scalar_one()
    first = start_worker(pg_url, tmp_path / "worker-1.log")
    try:
        deadline = time.monotonic() + 60
        while not waiting_on_a_lock(svc, holder):
            assert time.monotonic() < deadline, (tmp_path / "worker-1.log").read_text()[-2000:]
            assert first.poll() is None, (tmp_path / "worker-1.log").read_text()[-2000:]
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        lock.rollback()
        lock.close()
        held.dispose()
    before = ack_timeouts(svc)
    assert 0 < before.get("fired", 0) < COUNT, f"killed mid-way: {before}"
    with svc.db.read() as s:
        killed_batch = s.scalar(
            select(func.count()).where(
                Timer.kind == "escalation.ack_timeout",
                Timer.state == "pending",
                Timer.incident_id < middle,
            )
        )
    assert killed_batch, "the batch the worker died in rolled back, earlier timers included"

    second = start_worker(pg_url, tmp_path / "worker-2.log")
    try:
        deadline = time.monotonic() + 120
        # each fired timeout pages the next person, whose own (pending) timeout starts
        while ack_timeouts(svc) != {"fired": COUNT, "pending": COUNT}:
            assert time.monotonic() < deadline, (tmp_path / "worker-2.log").read_text()[-2000:]
            assert second.poll() is None, (tmp_path / "worker-2.log").read_text()[-2000:]
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    with svc.db.read() as s:
        pages = Counter(
            (incident, step)
            for incident, step in s.execute(
                select(Page.incident_id, Page.step).where(Page.chain == "on_call")
            )
        )
        timed_out = Counter(
            s.scalars(
                select(TimelineEvent.incident_id).where(TimelineEvent.kind == "page_timed_out")
            )
        )
        late = set(
            s.scalars(select(TimelineEvent.incident_id).where(TimelineEvent.kind == "timer_late"))
        )
        console = Counter(
            s.scalars(
                select(OutboxMessage.incident_id).where(
                    OutboxMessage.channel == "console",
                    OutboxMessage.subject.like("%did not acknowledge%"),
                )
            )
        )
    ids = set(range(1, COUNT + 1))
    assert {k for k, n in pages.items() if n != 1} == set(), "one page per incident and step"
    assert {i for i, _ in pages} == ids and {i for i, step in pages if step == 1} == ids
    assert set(timed_out) == ids and set(timed_out.values()) == {1}
    assert set(console) == ids and set(console.values()) == {1}, "the manager told once each"
    assert late == ids, "every timer fired after the downtime says how late it was"
