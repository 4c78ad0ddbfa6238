"""The worker: takes in stored alerts, fires due timers and delivers outbox messages.

Timers: see ``engine/firing.py``; messages: ``engine/outbox.py``. One bad item never stops
the others: a timer whose handler raises (and an alert change that cannot be judged) is rolled
back alone, tried again with backoff, and after a few tries set aside as failed with its
reason, on its incident's timeline and in ``/metrics``.

A round claims the due messages and starts sending them, takes in stored alerts and fires the
due timers while the peers answer, then records the messages' outcomes: the process does not
sit waiting on a peer while timers are due (a burst's pages leave as the next timers fire).

The loop is supervised: each step of a round is guarded on its own, so a step that raises
(the database restarting, a bug) is logged and tried again next round while the other steps
go on. Every round leaves a heartbeat in the database (``worker_heartbeats``), which
``/readyz`` and ``/metrics`` read: a worker that stops making progress shows there. A worker
that has made no progress for ``give_up_after`` raises :class:`WorkerStuck`, and
``escalator worker`` exits non-zero so that its supervisor restarts it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.domain.durations import format_duration
from escalator.engine.clock import Clock
from escalator.engine.firing import Firing
from escalator.engine.handlers import ARMERS, HANDLERS, TimerHandler
from escalator.engine.outbox import Dispatcher, Sending
from escalator.engine.senders import Sender
from escalator.process.alert import alarms
from escalator.process.core import queries
from escalator.process.core.context import SYSTEM, Channels, Ctx, Links
from escalator.store.db import WORK_CHANNEL, Database
from escalator.store.models import WorkerHeartbeat

log = logging.getLogger("escalator.worker")

BEAT_EVERY = timedelta(seconds=5)  # heartbeat writes, at most
IDLE_MAX = 10.0  # seconds an idle worker sleeps at most when NOTIFY wakes it for new work
FORGET_AFTER = timedelta(days=7)  # heartbeats of workers gone this long are dropped
# a round that only folded a few alerts waits this long before the next: under a storm of
# small posts the worker folds them in fewer, bigger batches (a fixed cost each), and leaves
# intake the GIL and SQLite's write lock in between
ALERT_GATHER = 0.05


class WorkerStuck(Exception):
    """No round of work has succeeded for longer than the worker may go on like that."""


class _Listener:
    """PostgreSQL: LISTEN for the NOTIFY a committing use case sends, and wake the worker."""

    def __init__(self, db: Database, wake: threading.Event) -> None:
        self.wake = wake
        self.stopping = threading.Event()
        self.url = db.listener_url()
        self.thread = threading.Thread(target=self._run, name="escalator-listen", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(WORK_CHANNEL)))
                    self.wake.set()  # anything committed while we were not listening
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake.set()
            except psycopg.Error as exc:  # the worker still looks every IDLE_MAX
                log.warning("worker: LISTEN %s failed (%s); retrying", WORK_CHANNEL, exc)
                self.stopping.wait(5)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


class Worker:
    def __init__(
        self,
        db: Database,
        *,
        process: Process,
        clock: Clock,
        senders: Mapping[str, Sender],
        worker_id: str,
        batch: int = 200,
        max_attempts: int = 12,
        handlers: Mapping[str, TimerHandler] = HANDLERS,
        rng: random.Random | None = None,
        channels: Channels | None = None,
        links: Links | None = None,
        concurrency: int = 8,
        rate_limits: bool = True,
    ) -> None:
        self.db = db
        self.process = process
        self.clock = clock
        self.senders = senders
        self.worker_id = worker_id
        self._batch = batch
        self.rng = rng or random.Random()
        self.channels = channels or Channels()
        self.links = links or Links()
        self.firing = Firing(
            db,
            clock=clock,
            handlers=handlers,
            worker_id=worker_id,
            batch=batch,
            rng=self.rng,
            ctx_for=self._ctx,
        )
        self.outbox = Dispatcher(
            db,
            clock=clock.now,
            senders=senders,
            worker_id=worker_id,
            ctx_for=self._ctx,
            batch=batch,
            max_attempts=max_attempts,
            rng=self.rng,
            concurrency=concurrency,
            rate_limits=rate_limits,
        )
        self._periodic_armed = False
        self._sending: Sending | None = None  # a claimed batch on its way (see round)
        self._beat_at: datetime | None = None
        self._started_at: datetime | None = None
        self._last_progress: datetime | None = None
        self._failures = 0
        self._did: dict[str, int] = {}  # what each step of the last round did

    def _ctx(self, session: Session, now: datetime) -> Ctx:
        return Ctx(
            session=session,
            process=self.process,
            now=now,
            actor=SYSTEM,
            channels=self.channels,
            links=self.links,
        )

    # -- alerts -------------------------------------------------------------------------
    def ingest_alerts(self) -> int:
        """Turn one batch of stored alert changes into incidents and timeline events.

        The batch is judged together, in one short write transaction (intake waits for the
        same write lock on SQLite); if any alert of it raises, the batch is rolled back and
        judged again one alert at a time, so that the bad one is retried or set aside alone."""
        try:
            with self.db.write() as session:
                return alarms.process_pending(
                    self._ctx(session, self.clock.now()), limit=self.batch, together=True
                )
        except Exception as exc:
            log.info(
                "worker %s: a batch of alerts failed together (%s); judging them one by one",
                self.worker_id,
                exc,
            )
        with self.db.write() as session:
            return alarms.process_pending(
                self._ctx(session, self.clock.now()), limit=self.batch, rng=self.rng
            )

    # -- timers -------------------------------------------------------------------------
    @property
    def batch(self) -> int:
        return self._batch

    @batch.setter
    def batch(self, batch: int) -> None:  # alerts and timers taken a round at most
        self._batch = self.firing.batch = batch

    @property
    def handlers(self) -> Mapping[str, TimerHandler]:
        return self.firing.handlers

    @handlers.setter
    def handlers(self, handlers: Mapping[str, TimerHandler]) -> None:
        self.firing.handlers = handlers

    def fire_due_timers(self) -> int:
        """Fire one batch of due timers; returns how many were claimed (``engine/firing.py``)."""
        return self.firing.fire_due()

    # -- outbox -------------------------------------------------------------------------
    def dispatch_outbox(self) -> int:
        """Lease one batch of due messages, send them, record each outcome."""
        return self.outbox.dispatch()

    def start_sending(self) -> int:
        """Lease one batch of due messages and start sending them; a round fires timers while
        they are on their way (this process waits on the peers' answers otherwise), then
        :meth:`finish_sending` records their outcomes."""
        self._sending = self.outbox.start()
        return self._sending.claimed if self._sending is not None else 0

    def finish_sending(self) -> int:
        """Record what :meth:`start_sending` sent. When nothing was on its way, send what this
        round made at once (a new alert's first Slack message waits for no other round)."""
        sending, self._sending = self._sending, None
        if sending is None:
            return self.dispatch_outbox()
        self.outbox.finish(sending)
        return 0  # counted when they were claimed

    # -- loop ---------------------------------------------------------------------------
    def run_once(self, max_rounds: int = 1000, stop: threading.Event | None = None) -> int:
        """Take in stored alerts, fire due timers and send due messages until none is left
        (messages queued behind one another go in successive rounds) or ``stop`` is set;
        returns the count. A step that raises propagates (tests and ``worker --once``)."""
        done = 0
        for _ in range(max_rounds):
            if stop is not None and stop.is_set():
                break
            step = self.ingest_alerts() + self.fire_due_timers() + self.dispatch_outbox()
            if not step:
                break
            done += step
        return done

    def round(self) -> tuple[int, str | None]:
        """One guarded round: each step on its own, so one failing step does not stop the
        others. Returns the work done and the first error, if any; leaves a heartbeat."""
        done, errors = 0, []
        steps = ["start_sending", "ingest_alerts", "fire_due_timers", "finish_sending"]
        if not self._periodic_armed:
            steps.insert(0, "arm_periodic")
        self._did = {}
        for name in steps:
            try:
                self._did[name] = getattr(self, name)() or 0
                done += self._did[name]
            except Exception as exc:  # the database restarting, a deadlock victim, a bug
                log.exception("worker %s: %s failed; again next round", self.worker_id, name)
                errors.append(f"{name}: {type(exc).__name__}: {exc}"[:2000])
            else:
                self._periodic_armed |= name == "arm_periodic"
        error = errors[0] if errors else None
        self._heartbeat(error)
        return done, error

    def arm_periodic(self) -> None:
        """Make sure every timer that re-arms itself is armed: each rotation's next hand-off,
        PostgreSQL's search statistics, the next weekly review (``process/stages.py``)."""
        with self.db.write() as session:
            ctx = self._ctx(session, self.clock.now())
            for arm in ARMERS:
                arm(ctx)

    def run(
        self,
        stop: threading.Event,
        poll_seconds: float = 0.5,
        *,
        give_up_after: timedelta | None = None,
    ) -> None:
        """Work until ``stop`` is set (a stop waits for the round in hand, not the backlog).
        Raises :class:`WorkerStuck` after ``give_up_after`` without a successful round.

        Idle, the worker sleeps until the next timer or message is due, and wakes at once when
        a use case of this process commits new work (``Database.work``) or, on PostgreSQL,
        when any process does (LISTEN/NOTIFY): it then looks every ``IDLE_MAX`` at most.
        Without NOTIFY (SQLite, where other processes cannot tell it) it also looks every
        ``poll_seconds``."""
        log.info("worker %s started", self.worker_id)
        wake = self.db.work
        listener = _Listener(self.db, wake) if self.db.is_postgres else None
        longest = IDLE_MAX if listener is not None else poll_seconds
        pause = poll_seconds
        try:
            while not stop.is_set():
                wake.clear()  # what commits from here on wakes the next wait
                busy, error = self.round()
                if error is None:
                    pause = poll_seconds
                elif give_up_after is not None and self._stuck_for() > give_up_after:
                    stuck = timedelta(seconds=max(1, int(self._stuck_for().total_seconds())))
                    raise WorkerStuck(
                        f"worker {self.worker_id}: no round has succeeded for "
                        f"{format_duration(stuck)}; last error: {error}"
                    )
                else:  # back off while something is broken, up to half a minute
                    pause = min(max(pause * 2, poll_seconds), 30.0)
                if error is not None:
                    stop.wait(pause)
                elif not busy and not stop.is_set():
                    wake.wait(self._until_due(longest, poll_seconds))
                elif self._only_a_few_alerts():
                    stop.wait(ALERT_GATHER)
        finally:
            if listener is not None:
                listener.close()
            self._stopped()
        log.info("worker %s stopped", self.worker_id)

    def _only_a_few_alerts(self) -> bool:
        """The last round folded a few alerts (less than a batch) and had no timers to fire
        and no earlier messages to send: the next round may wait a moment to gather more."""
        did = self._did
        folded = did.get("ingest_alerts", 0)
        return (
            0 < folded < self.batch
            and not did.get("fire_due_timers")
            and not did.get("start_sending")
        )

    def _until_due(self, longest: float, poll_seconds: float) -> float:
        """Seconds until the next timer, retry or message is due (at most ``longest``). What
        is due already but was not done (a message behind an elder, or to a destination that
        waits) is looked at again after ``poll_seconds``."""
        now = self.clock.now()
        try:
            with self.db.read() as session:
                due = [d for d in queries.next_due(session) if d is not None]
        except Exception:  # the next round will say what is wrong
            return min(longest, poll_seconds)
        due += [until for until in self.outbox.paused.values() if until > now]
        later = [d for d in due if d > now]
        if len(later) < len(due):  # due, yet the round found nothing it could do
            later.append(now + timedelta(seconds=poll_seconds))
        if not later:
            return longest
        return min(longest, (min(later) - now).total_seconds())

    # -- heartbeat ----------------------------------------------------------------------
    def _stuck_for(self) -> timedelta:
        since = self._last_progress or self._started_at or self.clock.now()
        return self.clock.now() - since

    def _heartbeat(self, error: str | None) -> None:
        """Note the round; write it to the database when due (every few seconds, or at once
        when the worker starts failing or recovers)."""
        now = self.clock.now()
        self._started_at = self._started_at or now
        changed = (error is None) != (self._failures == 0)
        if error is None:
            self._last_progress, self._failures = now, 0
        else:
            self._failures += 1
        if self._beat_at is not None and now - self._beat_at < BEAT_EVERY and not changed:
            return
        try:
            self._write_beat(now, error)
            self._beat_at = now
        except Exception:  # the database is down: the beat goes stale, as it should
            log.warning("worker %s: could not write its heartbeat", self.worker_id)

    def _write_beat(self, now: datetime, error: str | None) -> None:
        with self.db.write() as session:
            row = session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                session.execute(
                    delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER)
                )
                row = WorkerHeartbeat(worker_id=self.worker_id, started_at=self._started_at)
                session.add(row)
            row.beat_at, row.progress_at = now, self._last_progress
            row.failures, row.stopped_at = self._failures, None
            row.last_error = error if error is not None else row.last_error

    def _stopped(self) -> None:
        try:
            with self.db.write() as session:
                session.execute(
                    update(WorkerHeartbeat)
                    .where(WorkerHeartbeat.worker_id == self.worker_id)
                    .values(stopped_at=self.clock.now())
                )
        except Exception:
            log.warning("worker %s: could not record that it stopped", self.worker_id)
