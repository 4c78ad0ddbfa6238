"""Firing due timers: the worker's step that turns a timer row into its process use case.

A batch of due rows is claimed and fired inside one transaction together with all the
effects of its handlers, so an effect happens exactly when its timer is marked fired. On
PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``: several workers split the due rows, and a
worker killed mid-batch loses nothing (its transaction rolls back and its rows come due again).

A batch is fired together: its incidents, and what the handlers look up about them (their
pages, tickets, council cases and waiting messages, ``process/core/known.py``), are read in
one query a table; cancellations go in one UPDATE; rows are written in one flush per incident.
If any handler raises, the whole transaction rolls back and the batch is fired again one timer
at a time, each in a savepoint of its own: the one that raises is rolled back alone, tried
again with backoff, and after a few tries set aside as failed with its reason, on its
incident's timeline and in ``/metrics``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from escalator.domain.durations import format_duration
from escalator.domain.retry import backoff
from escalator.engine.clock import Clock
from escalator.engine.handlers import TimerHandler
from escalator.process.core import known
from escalator.process.core.context import Ctx
from escalator.process.core.records import FIRING, apply_cancels, defer_cancels, record
from escalator.store.db import Database
from escalator.store.models import Incident, Timer

log = logging.getLogger("escalator.worker")

LOADED = "worker_incidents"  # session.info: the batch's incidents, loaded in one query
LATE_MS = 5000  # a timer fired later than this says so on its incident's timeline
TIMER_ATTEMPTS = 5  # a handler that raises this often is set aside as failed


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


class Firing:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        handlers: Mapping[str, TimerHandler],
        worker_id: str,
        batch: int,
        rng: random.Random,
        ctx_for: Callable[[Session, datetime], Ctx],
    ) -> None:
        self.db = db
        self.clock = clock
        self.handlers = handlers
        self.worker_id = worker_id
        self.batch = batch
        self.rng = rng
        self.ctx_for = ctx_for

    def fire_due(self) -> int:
        """Fire one batch of due timers; returns how many were claimed.

        The batch is first fired together: no savepoint per timer, and rows written in one
        flush per incident rather than one per query (the costly part of a burst). If any
        timer of it raises, the whole transaction rolls back and the batch is fired again
        one timer at a time, each in a savepoint of its own, so that the bad one is retried
        or set aside alone and the others fire."""
        try:
            return self.fire_batch(together=True)
        except Exception as exc:
            log.info(
                "worker %s: a batch of timers failed together (%s); firing them one by one",
                self.worker_id,
                exc,
            )
            return self.fire_batch(together=False)

    def fire_batch(self, *, together: bool) -> int:
        """Claim one batch of due timers and fire it: together, or one timer at a time."""
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
            ctx = self.ctx_for(session, now)  # the time the batch was claimed at
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
