"""Two `escalator worker` processes on one PostgreSQL database share the due timers:
every timer fires exactly once, and its effects happen exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from escalator.app import Services
from escalator.process.alert import opening
from escalator.store.models import TimelineEvent, Timer
from tests.fakes import FakeClock

COUNT = 1000


def start_worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": url,
        "ESCALATOR_WORKER_BATCH": "25",
        "ESCALATOR_WORKER_POLL_SECONDS": "0.05",
    }
    with log.open("wb") as out:  # a file, not a pipe: an unread pipe fills and stalls the worker
        return subprocess.Popen(
            [sys.executable, "-m", "escalator", "worker"], env=env, stdout=out, stderr=out
        )


@pytest.mark.slow
def test_two_workers_fire_a_thousand_due_timers_exactly_once(
    pg_url: str, make_services: Callable[..., Services], clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(datetime.now(UTC) - timedelta(hours=1))  # so every triage clock is now overdue
    svc = make_services(pg_url)
    with svc.unit_of_work("santhosh") as ctx:
        for n in range(COUNT):
            opening.open_incident(ctx, title=f"alarm {n}", source="alarm", channel="manual")

    workers = [start_worker(pg_url, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with svc.db.read() as s:
                left = s.scalar(
                    select(func.count()).where(
                        Timer.state == "pending", Timer.kind.like("triage.%")
                    )
                )
            if left == 0:
                break
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.2)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
            w.wait(timeout=30)
        logs = [(tmp_path / f"worker-{n}.log").read_text()[-2000:] for n in (1, 2)]

    with svc.db.read() as s:
        triage = Timer.kind.like("triage.%")  # the workers also arm rotation hand-offs
        states = dict(
            s.execute(select(Timer.state, func.count()).where(triage).group_by(Timer.state)).all()
        )
        by_worker = dict(
            s.execute(
                select(Timer.fired_by, func.count()).where(triage).group_by(Timer.fired_by)
            ).all()
        )
        breaches = s.execute(
            select(TimelineEvent.incident_id, func.count())
            .where(TimelineEvent.kind == "triage_breached")
            .group_by(TimelineEvent.incident_id)
        ).all()
    assert states == {"fired": 2 * COUNT}, logs  # each incident's triage warning and deadline
    assert len(breaches) == COUNT and {n for _, n in breaches} == {1}
    assert len(by_worker) == 2, f"both workers should take part: {by_worker}"
    assert sum(by_worker.values()) == 2 * COUNT
