"""Delivery is at least once, and the window for a second copy is what was in flight: a worker
killed mid-send has recorded everything that came back; what it re-sends carries the same
idempotency key, and a re-sent Slack post looks itself up first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from escalator.app import Services
from escalator.process.alert import opening as alert_stage
from escalator.store.models import OutboxMessage
from tests.fakes import FakeClock
from tests.fakes.http import FakeServer, Reply, Request
from tests.fakes.pagerduty import ROUTING_KEY
from tests.fakes.slack import TOKEN, FakeSlack

COUNT = 40
SERVED = 10  # the fake answers this many triggers, then holds the next one


class StallingPagerDuty:
    """Answers SERVED events, then holds every further request until released."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server = FakeServer(self._handle, threaded_handler=True)
        self.url = f"{self.server.url}/v2/enqueue"

    def _handle(self, request: Request) -> Reply:
        event = request.json()
        with self.lock:
            self.keys.append(event["dedup_key"])
            stall = len(self.keys) > SERVED
        if stall:
            self.release.wait(30)
        return Reply.json(202, {"status": "success", "dedup_key": event["dedup_key"]})


def sent(svc: Services) -> int:
    with svc.db.read() as s:
        query = select(func.count()).where(
            OutboxMessage.channel == "pagerduty", OutboxMessage.state == "sent"
        )
        return s.scalar(query) or 0


@pytest.mark.slow
def test_a_worker_killed_mid_send_re_sends_only_what_was_in_flight(
    make_services: Callable[..., Services],
    database_url: str,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    pagerduty = StallingPagerDuty()
    clock.set(datetime.now(UTC))
    svc = make_services(
        database_url, pagerduty_events_url=pagerduty.url, pagerduty_routing_key=ROUTING_KEY
    )
    with svc.unit_of_work("santhosh") as ctx:
        for n in range(COUNT):
            alert_stage.open_incident(ctx, title=f"alarm {n}", source="alarm", channel="manual")
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": database_url,
        "ESCALATOR_PAGERDUTY_EVENTS_URL": pagerduty.url,
        "ESCALATOR_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "ESCALATOR_RATE_LIMITS": "false",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "escalator", "worker"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while sent(svc) < SERVED:  # each answer is recorded as it comes back
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            assert worker.poll() is None, log.read_text()[-2000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        pagerduty.release.set()
    assert sent(svc) == SERVED

    clock.set(datetime.now(UTC) + timedelta(minutes=2))  # the dead worker's lease has lapsed
    again = svc.worker()
    again.outbox.rate_limits = False
    again.run_once()
    pagerduty.server.close()
    copies = Counter(pagerduty.keys)
    assert len(copies) == COUNT, "every page was delivered"
    twice = [key for key, n in copies.items() if n > 1]
    assert len(twice) <= 1, f"only the one in flight went twice: {twice}"
    with svc.db.read() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "pagerduty"))
        assert {r.state for r in rows} == {"sent"}


def test_a_slack_post_whose_sender_died_is_looked_up_not_posted_again(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    clock: FakeClock,
) -> None:
    svc = make_services(database_url, slack_bot_token=TOKEN, slack_api_url=slack.base_url)
    with svc.unit_of_work("santhosh") as ctx:
        alert_stage.report(ctx, title="Checkout prices missing")
    worker = svc.worker()
    claimed, _ = worker.outbox._claim()  # leased, as by a worker that then dies…
    [root] = [m for m in claimed if m.channel == "slack"]
    svc.senders["slack"].send(root)  # …after Slack took the post, before recording it
    assert len(slack.roots()) == 1
    clock.advance(timedelta(minutes=2))
    worker.run_once()
    assert len(slack.roots()) == 1, "the retry found the post instead of making a second"
    with svc.db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "slack")).first()
        assert row is not None and (row.state, row.attempts) == ("sent", 2)
