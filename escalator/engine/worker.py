"""The worker: fires due timers and delivers outbox messages.

Timers: a batch of due rows is claimed and fired inside one transaction together with all
the effects of its handlers, so an effect happens exactly when its timer is marked fired. On
PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``: several workers split the due rows, and a
worker killed mid-batch loses nothing (its transaction rolls back and its rows come due again).

Messages: rows are leased (claimed with a deadline) in a short transaction, sent outside any
transaction, then marked. A worker that dies after sending but before marking lets the lease
lapse and the message goes again, carrying the same idempotency key, so the peer can drop it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError

from escalator.config.process import Process
from escalator.domain.retry import backoff
from escalator.engine.clock import Clock
from escalator.engine.handlers import HANDLERS, TimerHandler
from escalator.engine.senders import Outgoing, PermanentFailure, Sender, TemporaryFailure
from escalator.process.context import SYSTEM, Ctx
from escalator.store.db import Database
from escalator.store.models import Incident, OutboxMessage, Timer

log = logging.getLogger("escalator.worker")

LEASE = timedelta(seconds=60)


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
    ) -> None:
        self.db = db
        self.process = process
        self.clock = clock
        self.senders = senders
        self.worker_id = worker_id
        self.batch = batch
        self.max_attempts = max_attempts
        self.handlers = handlers
        self.rng = rng or random.Random()

    # -- timers -------------------------------------------------------------------------
    def fire_due_timers(self) -> int:
        """Fire one batch of due timers; returns how many were claimed."""
        now = self.clock.now()
        with self.db.write() as session:
            query = (
                select(Timer)
                .where(Timer.state == "pending", Timer.due_at <= now)
                .order_by(Timer.due_at, Timer.id)
                .limit(self.batch)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            timers = list(session.scalars(query).all())
            # lock incidents in one global order so that two workers never deadlock
            timers.sort(key=lambda t: (t.incident_id or 0, t.due_at, t.id))
            ctx = Ctx(session=session, process=self.process, now=now, actor=SYSTEM)
            for timer in timers:
                self._fire(ctx, timer)
        return len(timers)

    def _fire(self, ctx: Ctx, timer: Timer) -> None:
        timer.fired_at = ctx.now
        timer.fired_by = self.worker_id
        timer.late_ms = int((ctx.now - timer.due_at).total_seconds() * 1000)
        handler = self.handlers.get(timer.kind)
        if handler is None:
            timer.state, timer.error = "failed", f"no handler for timer kind {timer.kind!r}"
            log.error("timer %s: %s", timer.id, timer.error)
            return
        try:
            with ctx.session.begin_nested():
                incident = None
                if timer.incident_id is not None:
                    query = select(Incident).where(Incident.id == timer.incident_id)
                    if self.db.is_postgres:
                        query = query.with_for_update()
                    incident = ctx.session.scalars(query).one()
                handler(ctx, incident, timer)  # type: ignore[arg-type]
            timer.state = "fired"
        except Exception as exc:  # a broken handler must not stop the other timers
            log.exception("timer %s (%s) failed", timer.id, timer.kind)
            timer.state, timer.error = "failed", f"{type(exc).__name__}: {exc}"

    # -- outbox -------------------------------------------------------------------------
    def dispatch_outbox(self) -> int:
        """Lease one batch of due messages, send them, record each outcome."""
        now = self.clock.now()
        with self.db.write() as session:
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.state == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                )
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query).all())
            for row in rows:
                row.lease_until = now + LEASE
                row.claimed_by = self.worker_id
            claimed = [
                Outgoing(
                    r.id,
                    r.channel,
                    r.destination,
                    r.subject,
                    r.body,
                    r.payload,
                    r.idempotency_key,
                    r.attempts + 1,
                )
                for r in rows
            ]
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def _deliver(self, message: Outgoing) -> None:
        sender = self.senders.get(message.channel)
        error: str | None = None
        retry_after: timedelta | None = None
        permanent = False
        if sender is None:
            error, permanent = f"no sender configured for channel {message.channel!r}", True
        else:
            try:
                sender.send(message)
            except TemporaryFailure as exc:
                error, retry_after = str(exc), exc.retry_after
            except PermanentFailure as exc:
                error, permanent = str(exc), True
            except Exception as exc:  # unknown failures are retried, and shown
                error = f"{type(exc).__name__}: {exc}"
        now = self.clock.now()
        with self.db.write() as session:
            row = session.get(OutboxMessage, message.id)
            if row is None or row.claimed_by != self.worker_id:
                return  # our lease lapsed and another worker owns it now
            row.attempts = message.attempt
            row.lease_until = None
            if error is None:
                row.state, row.sent_at, row.last_error = "sent", now, None
            elif permanent or row.attempts >= self.max_attempts:
                row.state, row.last_error = "dead", error
                log.error("message %s dead-lettered: %s", row.id, error)
            else:
                delay = backoff(row.attempts, jitter=self.rng.random(), retry_after=retry_after)
                row.next_attempt_at, row.last_error = now + delay, error
                log.warning("message %s: %s; retry in %s", row.id, error, delay)

    # -- loop ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Fire every due timer and send every due message; returns how much was done."""
        done = 0
        while True:
            fired = self.fire_due_timers()
            sent = self.dispatch_outbox()
            done += fired + sent
            if fired < self.batch and sent < self.batch:
                return done

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except OperationalError as exc:  # database restarting, deadlock victim, …
                log.warning("worker %s: database error, retrying: %s", self.worker_id, exc)
                busy = 0
            if not busy:
                stop.wait(poll_seconds)
        log.info("worker %s stopped", self.worker_id)
