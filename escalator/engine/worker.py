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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.domain.durations import format_duration
from escalator.domain.retry import backoff
from escalator.engine.clock import Clock
from escalator.engine.handlers import HANDLERS, RECEIPTS, TimerHandler
from escalator.engine.ratelimit import RateLimiter
from escalator.engine.senders import Outgoing, PermanentFailure, Sender, TemporaryFailure
from escalator.process import alarms, oncall
from escalator.process.context import SYSTEM, Channels, Ctx, Links
from escalator.process.records import record
from escalator.store.db import Database
from escalator.store.models import Incident, OutboxMessage, Timer

log = logging.getLogger("escalator.worker")

LEASE = timedelta(seconds=60)
LATE_MS = 5000  # a timer fired later than this says so on its incident's timeline


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


@dataclass(frozen=True)
class _Outcome:
    message: Outgoing
    error: str | None
    permanent: bool
    retry_after: timedelta | None = None
    result: dict[str, Any] | None = None


def _heads_of_queues(session: Session, rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Keep only the oldest pending message of each (incident, channel, destination) queue,
    so that messages about one incident reach each destination in the order they were made."""
    incidents = {r.incident_id for r in rows if r.incident_id is not None}
    if not incidents:
        return rows
    heads = set(
        session.scalars(
            select(func.min(OutboxMessage.id))
            .where(OutboxMessage.state == "pending", OutboxMessage.incident_id.in_(incidents))
            .group_by(OutboxMessage.incident_id, OutboxMessage.channel, OutboxMessage.destination)
        ).all()
    )
    return [r for r in rows if r.incident_id is None or r.id in heads]


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
        self.max_attempts = max_attempts
        self.handlers = handlers
        self.rng = rng or random.Random()
        self.channels = channels or Channels()
        self.links = links or Links()
        self.limiter = RateLimiter()
        self.rate_limits = rate_limits
        # sends are I/O: a batch (one message per queue, so order holds) goes out at once
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="send")

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
        """Turn one batch of stored alert changes into incidents and timeline events."""
        with self.db.write() as session:
            return alarms.process_pending(self._ctx(session, self.clock.now()), limit=self.batch)

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
            ctx = self._ctx(session, now)  # the time the batch was claimed at
            for timer in timers:
                self._fire(ctx, timer)
        return len(timers)

    def _fire(self, ctx: Ctx, timer: Timer) -> None:
        if timer.state != "pending":  # cancelled by an earlier timer of this batch
            return
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
                    if timer.late_ms > LATE_MS:
                        _say_late(ctx, incident, timer)
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
                .order_by(OutboxMessage.rank, OutboxMessage.id)
                .limit(self.batch * 4)  # room for rows that must wait behind an elder
                # walk the claim index in order and stop, rather than sort every due row
                .with_hint(OutboxMessage, "INDEXED BY ix_outbox_claim", "sqlite")
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = _heads_of_queues(session, list(session.scalars(query).all()))[: self.batch]
            claimed = []
            for row in rows:
                sender = self.senders.get(row.channel)
                per_minute = getattr(sender, "per_minute", None) if self.rate_limits else None
                wait = self.limiter.take((row.channel, row.destination), per_minute, now)
                if wait:  # over the destination's rate: later, without spending an attempt
                    row.next_attempt_at = now + wait
                    continue
                row.lease_until = now + LEASE
                row.claimed_by = self.worker_id
                claimed.append(self._outgoing(session, row, getattr(sender, "threads", False)))
        outcomes = list(self.pool.map(self._send, claimed))
        self._record(outcomes)
        return len(claimed)

    def _outgoing(self, session: Session, row: OutboxMessage, threads: bool) -> Outgoing:
        thread = None
        if threads and row.incident_id is not None:
            thread = session.scalar(
                select(OutboxMessage.result)
                .where(
                    OutboxMessage.incident_id == row.incident_id,
                    OutboxMessage.channel == row.channel,
                    OutboxMessage.destination == row.destination,
                    OutboxMessage.state == "sent",
                )
                .order_by(OutboxMessage.id)
                .limit(1)
            )
        return Outgoing(
            row.id,
            row.channel,
            row.destination,
            row.subject,
            row.body,
            row.payload,
            row.idempotency_key,
            row.attempts + 1,
            thread,
        )

    def _send(self, message: Outgoing) -> _Outcome:
        sender = self.senders.get(message.channel)
        if sender is None:
            return _Outcome(message, f"no sender configured for channel {message.channel!r}", True)
        try:
            return _Outcome(message, None, False, result=sender.send(message))
        except TemporaryFailure as exc:
            return _Outcome(message, str(exc), False, retry_after=exc.retry_after)
        except PermanentFailure as exc:
            return _Outcome(message, str(exc), True)
        except Exception as exc:  # unknown failures are retried, and shown
            return _Outcome(message, f"{type(exc).__name__}: {exc}", False)

    def _record(self, outcomes: list[_Outcome]) -> None:
        """Write every outcome of a batch in one transaction."""
        if not outcomes:
            return
        now = self.clock.now()
        with self.db.write() as session:
            ids = [outcome.message.id for outcome in outcomes]
            rows = {
                r.id: r
                for r in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
            }
            for outcome in outcomes:
                message = outcome.message
                row = rows.get(message.id)
                if row is None or row.claimed_by != self.worker_id:
                    continue  # our lease lapsed and another worker owns it now
                row.attempts = message.attempt
                row.lease_until = None
                if outcome.error is None:
                    row.state, row.sent_at, row.last_error = "sent", now, None
                    row.result = outcome.result or {}
                    receipt = RECEIPTS.get(str(row.payload.get("receipt", "")))
                    if receipt is not None:
                        receipt(self._ctx(session, now), row.payload, row.result)
                elif outcome.permanent or row.attempts >= self.max_attempts:
                    row.state, row.last_error = "dead", outcome.error
                    log.error("message %s dead-lettered: %s", row.id, outcome.error)
                else:
                    delay = backoff(
                        row.attempts, jitter=self.rng.random(), retry_after=outcome.retry_after
                    )
                    row.next_attempt_at, row.last_error = now + delay, outcome.error
                    log.warning("message %s: %s; retry in %s", row.id, outcome.error, delay)

    # -- loop ---------------------------------------------------------------------------
    def run_once(self, max_rounds: int = 1000, stop: threading.Event | None = None) -> int:
        """Take in stored alerts, fire due timers and send due messages until none is left
        (messages queued behind one another go in successive rounds) or ``stop`` is set;
        returns the count."""
        done = 0
        for _ in range(max_rounds):
            if stop is not None and stop.is_set():
                break
            step = self.ingest_alerts() + self.fire_due_timers() + self.dispatch_outbox()
            if not step:
                break
            done += step
        return done

    def arm_handoffs(self) -> None:
        """Make sure every rotation's next hand-off has a timer (they re-arm themselves)."""
        with self.db.write() as session:
            oncall.ensure_handoff_timers(self._ctx(session, self.clock.now()))

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info("worker %s started", self.worker_id)
        try:
            self.arm_handoffs()
        except OperationalError as exc:
            log.warning("worker %s: could not arm hand-off timers: %s", self.worker_id, exc)
        while not stop.is_set():
            try:
                busy = self.run_once(stop=stop)  # a stop waits for one batch, not a backlog
            except OperationalError as exc:  # database restarting, deadlock victim, …
                log.warning("worker %s: database error, retrying: %s", self.worker_id, exc)
                busy = 0
            if not busy:
                stop.wait(poll_seconds)
        log.info("worker %s stopped", self.worker_id)
