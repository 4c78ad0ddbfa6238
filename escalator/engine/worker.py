"""The worker: takes in stored alerts, fires due timers and delivers outbox messages.

Timers: a batch of due rows is claimed and fired inside one transaction together with all
the effects of its handlers, so an effect happens exactly when its timer is marked fired. On
PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``: several workers split the due rows, and a
worker killed mid-batch loses nothing (its transaction rolls back and its rows come due again).

One bad item never stops the others: a timer whose handler raises (and an alert change that
cannot be judged) is rolled back alone, tried again with backoff, and after a few tries set
aside as failed with its reason, on its incident's timeline and in ``/metrics``. Messages:
see ``engine/outbox.py``.

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
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.domain.durations import format_duration
from escalator.domain.retry import backoff
from escalator.engine.clock import Clock
from escalator.engine.handlers import ARMERS, HANDLERS, TimerHandler
from escalator.engine.outbox import Dispatcher, Sending
from escalator.engine.senders import Sender
from escalator.process.alert import alarms
from escalator.process.core import known, queries
from escalator.process.core.context import SYSTEM, Channels, Ctx, Links
from escalator.process.core.records import FIRING, apply_cancels, defer_cancels, record
from escalator.store.db import WORK_CHANNEL, Database
from escalator.store.models import Incident, Timer, WorkerHeartbeat

log = logging.getLogger("escalator.worker")

LOADED = "worker_incidents"  # session.info: the batch's incidents, loaded in one query
LATE_MS = 5000  # a timer fired later than this says so on its incident's timeline
TIMER_ATTEMPTS = 5  # a handler that raises this often is set aside as failed
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


def _say_late(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """After downtime, timers fire in order, each telling how late it is."""
    late = format_duration(timedelta(seconds=(timer.late_ms or 0) // 1000))
    log.warning("timer %s (%s) fired %s late", timer.id, timer.kind, late)
    record(
        ctx,
        incident,
        "timer_late",
        note=f"{timer.kind} was due {timer.due_at:%Y-%m-%d %H:%M:%S} UTC and fired {late} late "
        "(workers down or behind)",
        data={"timer": timer.id, "late_ms": timer.late_ms},
    )


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
        self.batch = batch
        self.handlers = handlers
        self.rng = rng or random.Random()
        self.channels = channels or Channels()
        self.links = links or Links()
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
    def fire_due_timers(self) -> int:
        """Fire one batch of due timers; returns how many were claimed.

        The batch is first fired together: no savepoint per timer, and rows written in one
        flush per incident rather than one per query (the costly part of a burst). If any
        timer of it raises, the whole transaction rolls back and the batch is fired again
        one timer at a time, each in a savepoint of its own, so that the bad one is retried
        or set aside alone and the others fire."""
        try:
            return self._fire_batch(together=True)
        except Exception as exc:
            log.info(
                "worker %s: a batch of timers failed together (%s); firing them one by one",
                self.worker_id,
                exc,
            )
            return self._fire_batch(together=False)

    def _fire_batch(self, *, together: bool) -> int:
        now = self.clock.now()
        with self.db.write() as session:
            query = (
                select(Timer)
                .where(
                    Timer.state == "pending",
                    Timer.due_at <= now,
                    or_(Timer.retry_at.is_(None), Timer.retry_at <= now),
                )
                .order_by(Timer.due_at, Timer.id)
                .limit(self.batch)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            timers = list(session.scalars(query).all())
            if not timers:
                return 0
            # lock incidents in one global order so that two workers never deadlock, and load
            # them in one query instead of one per timer
            timers.sort(key=lambda t: (t.incident_id or 0, t.due_at, t.id))
            ids = sorted({t.incident_id for t in timers if t.incident_id is not None})
            if ids:
                incidents = select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)
                if self.db.is_postgres:
                    incidents = incidents.with_for_update()
                # the session's identity map holds them weakly: keep them while firing
                session.info[LOADED] = session.scalars(incidents).all()
            firing: dict[int | None, list[Timer]] = {}
            for timer in timers:
                firing.setdefault(timer.incident_id, []).append(timer)
            session.info[FIRING] = firing  # cancel_timers keeps them up to date
            ctx = self._ctx(session, now)  # the time the batch was claimed at
            if not together:
                for timer in timers:
                    self._fire(ctx, timer)
                return len(timers)
            defer_cancels(session)
            if ids:  # what the handlers look up about these incidents, a query a table
                known.load(session, ids)

            def write() -> None:  # what the batch did so far: cancellations first
                apply_cancels(session, now)
                session.flush()

            with session.no_autoflush:
                previous: Timer | None = None
                for timer in timers:
                    # what an earlier timer of the same incident (or a timer of no incident)
                    # wrote is flushed before the next one looks
                    if previous is not None and (
                        timer.incident_id is None
                        or timer.incident_id == previous.incident_id
                        or previous.incident_id is None
                    ):
                        write()
                    self._fire_one(ctx, timer)
                    previous = timer
                write()
        return len(timers)

    def _fire(self, ctx: Ctx, timer: Timer) -> None:
        """Fire ``timer`` in a savepoint of its own: a handler that raises is rolled back
        alone, and the timer retried with backoff or set aside."""
        if timer.state != "pending":  # cancelled by an earlier timer of this batch
            return
        try:
            with ctx.session.begin_nested():
                self._fire_one(ctx, timer)
        except Exception as exc:  # a broken handler must not stop the other timers
            log.exception("timer %s (%s) failed", timer.id, timer.kind)
            # what it cancelled of the batch in hand was rolled back with it
            for other in ctx.session.info.get(FIRING, {}).get(timer.incident_id, ()):
                if other is not timer and other.state == "cancelled":
                    ctx.session.refresh(other)
            timer.attempts += 1
            error = f"{type(exc).__name__}: {exc}"
            if timer.attempts >= TIMER_ATTEMPTS:
                self._set_aside(ctx, timer, error)
            else:
                timer.error = error
                timer.retry_at = ctx.now + backoff(timer.attempts, jitter=self.rng.random())

    def _fire_one(self, ctx: Ctx, timer: Timer) -> None:
        """Run ``timer``'s handler and mark it fired (what it does raises to the caller)."""
        if timer.state != "pending":  # cancelled by an earlier timer of this batch
            return
        timer.late_ms = int((ctx.now - timer.due_at).total_seconds() * 1000)
        handler = self.handlers.get(timer.kind)
        if handler is None:
            self._set_aside(ctx, timer, f"no handler for timer kind {timer.kind!r}")
            return
        incident = None
        if timer.incident_id is not None:
            incident = ctx.session.get(Incident, timer.incident_id)  # loaded (and locked) above
            if incident is None:
                raise LookupError(f"timer {timer.id}: no incident {timer.incident_id}")
            if timer.late_ms > LATE_MS and not timer.attempts:
                _say_late(ctx, incident, timer)
        handler(ctx, incident, timer)  # type: ignore[arg-type]
        timer.state, timer.fired_at, timer.fired_by = "fired", ctx.now, self.worker_id

    def _set_aside(self, ctx: Ctx, timer: Timer, error: str) -> None:
        """A timer that cannot fire: failed, with its reason, on its incident's timeline."""
        timer.state, timer.error = "failed", error
        timer.fired_at, timer.fired_by = ctx.now, self.worker_id
        log.error("timer %s (%s) set aside: %s", timer.id, timer.kind, error)
        incident = ctx.session.get(Incident, timer.incident_id) if timer.incident_id else None
        if incident is not None:
            record(
                ctx,
                incident,
                "timer_failed",
                note=f"{timer.kind} (due {timer.due_at:%Y-%m-%d %H:%M} UTC) could not fire "
                f"after {timer.attempts or 1} tries: {error}",
                data={"timer": timer.id},
            )

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
