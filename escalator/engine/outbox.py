"""Delivering the outbox: claim the heads of due queues, send each destination's messages in
order, record every outcome as it comes.

Order and fairness:

* A queue is one incident's messages to one channel and destination. Only its oldest pending
  message (its head) may be sent, so a Slack root message precedes its updates and a
  PagerDuty trigger precedes its acknowledge and resolve. Heads are found over the whole due
  set (the least pending id of its queue, on the partial queue index), not among the oldest
  few hundred rows: a noisy incident holds back its own queue and no other.
* Pages (rank 0) are claimed before chatter (rank 1); within a rank, oldest first.
* The messages claimed for one destination are sent one after the other, in order; different
  destinations go at once. When a destination fails (down, 429), everything queued for it
  waits with the failed message until its retry time, then leaves in the order it was made —
  instead of each message drawing its own jittered backoff and overtaking the others.
* A message that must wait alone (a Slack reply before its root is posted) does not hold
  back its destination.

Delivery is at least once. Each outcome is recorded as soon as its send returns (within
``RECORD_WITHIN``; on SQLite, once the write lock is free: a worker's round fires timers while
its messages are on their way, and a firing batch holds the lock until it commits), so a
worker killed mid-batch re-sends only what was in flight or not recorded yet;
the idempotency key travels with every try (PagerDuty ``dedup_key``, a JIRA label, Slack
message metadata looked up before a retried post, a stable email Message-ID).
"""

from __future__ import annotations

import logging
import queue
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from escalator.domain.retry import backoff
from escalator.engine.handlers import RECEIPTS
from escalator.engine.ratelimit import RateLimiter
from escalator.engine.senders import Outgoing, PermanentFailure, Sender, TemporaryFailure
from escalator.process.core.context import Ctx
from escalator.process.core.records import queue_of
from escalator.store.db import Database
from escalator.store.models import OutboxMessage

log = logging.getLogger("escalator.worker")

LEASE = timedelta(seconds=60)
LEASE_MARGIN = timedelta(seconds=15)  # a send is not started this close to its lease's end
# outcomes are recorded together once this many have come back or this long has passed: a
# transaction per message would cost more than the sending, while a killed worker re-sends at
# most what came back in the last moment (each with its idempotency key)
RECORD_EVERY = 200
RECORD_WITHIN = 0.05  # seconds
Destination = tuple[str, str]  # (channel, destination)


@dataclass(frozen=True)
class Outcome:
    message: Outgoing
    error: str | None = None
    permanent: bool = False
    retry_after: timedelta | None = None
    result: dict[str, Any] | None = None
    message_only: bool = False  # the failure is this message's, not its destination's
    deferred: bool = False  # not tried: its destination failed on an earlier message


@dataclass(frozen=True)
class Sending:
    """A claimed batch on its way: how many messages, and the recording of their outcomes."""

    claimed: int
    recorded: Future[None]


def _update_by_id(session: Session, changes: list[dict[str, Any]]) -> None:
    """UPDATE outbox rows by id: one executemany per set of columns changed (SQLAlchemy
    Core, without the ORM's bulk bookkeeping, which cost more than the statement)."""
    table = OutboxMessage.__table__
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        columns = tuple(sorted(k for k in change if k != "id"))
        by_columns.setdefault(columns, []).append(
            {"row_id": change["id"], **{k: change[k] for k in columns}}
        )
    for columns, rows in by_columns.items():
        statement = (
            table.update()
            .where(table.c.id == bindparam("row_id"))
            .values({k: bindparam(k) for k in columns})
        )
        session.connection().execute(statement, rows)


def _outgoing(row: OutboxMessage, attempt: int, thread: dict[str, Any] | None) -> Outgoing:
    return Outgoing(
        row.id,
        row.channel,
        row.destination,
        row.subject,
        row.body,
        row.payload,
        row.idempotency_key,
        attempt,
        thread,
    )


class Dispatcher:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        senders: Mapping[str, Sender],
        worker_id: str,
        ctx_for: Callable[[Session, datetime], Ctx],
        batch: int,
        max_attempts: int,
        rng: random.Random,
        concurrency: int,
        rate_limits: bool,
    ) -> None:
        self.db = db
        self.now = clock
        self.senders = senders
        self.worker_id = worker_id
        self.ctx_for = ctx_for
        self.batch = batch
        self.max_attempts = max_attempts
        self.rng = rng
        self.rate_limits = rate_limits
        self.limiter = RateLimiter()
        # destinations that failed or are over their rate, and until when they wait
        self.paused: dict[Destination, datetime] = {}
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="send")
        self.recorder = ThreadPoolExecutor(1, thread_name_prefix="record")

    def dispatch(self) -> int:
        """Claim one batch of queue heads, send them, record each outcome; returns how many
        were claimed."""
        sending = self.start()
        return self.finish(sending) if sending is not None else 0

    def start(self) -> Sending | None:
        """Claim one batch of queue heads and start sending them (in the pool's threads), and
        recording their outcomes as they come back (in a thread of its own); the caller may
        do other work meanwhile, then :meth:`finish`. None: nothing was due."""
        claimed, lease_until = self._claim()
        if not claimed:
            return None
        groups: dict[Destination, list[Outgoing]] = {}
        for message in claimed:
            groups.setdefault((message.channel, message.destination), []).append(message)
        results: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        for group in groups.values():
            self.pool.submit(self._send_group, group, lease_until, results)
        return Sending(len(claimed), self.recorder.submit(self._collect, results, len(groups)))

    def finish(self, sending: Sending) -> int:
        """Wait until every outcome of what :meth:`start` sent is recorded (an error recording
        them is raised here); returns how many messages were claimed."""
        sending.recorded.result()
        return sending.claimed

    def _collect(self, results: queue.SimpleQueue[Outcome | None], running: int) -> None:
        """Record outcomes together as they come back, until every group is done. On
        PostgreSQL this goes on while the worker fires timers; on SQLite each record waits
        for the write lock, which a firing batch holds until it commits."""
        while running:
            ready = [results.get()]
            waited_until = time.monotonic() + RECORD_WITHIN
            while len(ready) < RECORD_EVERY and running > ready.count(None):
                try:  # gather what comes back within a moment, to record it together
                    ready.append(results.get(timeout=max(0.0, waited_until - time.monotonic())))
                except queue.Empty:
                    break
            running -= ready.count(None)
            self._record([outcome for outcome in ready if outcome is not None])

    # -- claim --------------------------------------------------------------------------
    def _claim(self) -> tuple[list[Outgoing], datetime]:
        now = self.now()
        self.paused = {key: until for key, until in self.paused.items() if until > now}
        elder = aliased(OutboxMessage)
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.state == "pending",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                # the head of its queue: a correlated subquery that seeks the queue index
                # per row. (As NOT EXISTS, PostgreSQL plans an anti join from statistics
                # taken while the outbox was empty, and scans the whole pending set per
                # row: 7.5 s a claim in a burst of 27,000 pending messages, against 17 ms.)
                or_(
                    OutboxMessage.incident_id.is_(None),
                    OutboxMessage.id
                    == select(func.min(elder.id))
                    .where(
                        elder.state == "pending",
                        elder.incident_id == OutboxMessage.incident_id,
                        elder.channel == OutboxMessage.channel,
                        elder.destination == OutboxMessage.destination,
                    )
                    .scalar_subquery(),
                ),
                *[
                    ~and_(OutboxMessage.channel == channel, OutboxMessage.destination == to)
                    for channel, to in self.paused
                ],
            )
            .order_by(OutboxMessage.rank, OutboxMessage.id)
            .limit(self.batch)
            # walk the claim index in order and stop, rather than sort every due row
            .with_hint(OutboxMessage, "INDEXED BY ix_outbox_claim", "sqlite")
        )
        if self.db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        lease_until = now + LEASE
        claimed = []
        with self.db.write() as session:
            taken: list[tuple[OutboxMessage, bool]] = []
            for row in session.scalars(query).all():
                key = (row.channel, row.destination)
                if key in self.paused:
                    continue
                sender = self.senders.get(row.channel)
                per_minute = getattr(sender, "per_minute", None) if self.rate_limits else None
                wait = self.limiter.take(key, per_minute, now)
                if wait:  # over the destination's rate: it waits, no attempt is spent
                    self.paused[key] = now + wait
                    continue
                taken.append((row, getattr(sender, "threads", False)))
            threads = self._threads(session, [row for row, threaded in taken if threaded])
            for row, threaded in taken:
                # a try that is never recorded still counts: a retry of it looks first (_find)
                thread = threads.get(queue_of(row)) if threaded else None
                claimed.append(_outgoing(row, row.attempts + 1, thread))
            if claimed:  # one UPDATE for the batch, not one per row
                _update_by_id(
                    session,
                    [
                        {
                            "id": m.id,
                            "lease_until": lease_until,
                            "claimed_by": self.worker_id,
                            "attempts": m.attempt,
                        }
                        for m in claimed
                    ],
                )
        return claimed, lease_until

    def _threads(
        self, session: Session, rows: list[OutboxMessage]
    ) -> dict[tuple[int | None, str, str], dict[str, Any] | None]:
        """The first message each of these rows' queues delivered (its answer names the
        thread the rest reply in), for all of them in one query."""
        incident_ids = sorted({row.incident_id for row in rows if row.incident_id is not None})
        if not incident_ids:
            return {}
        wanted = {queue_of(row) for row in rows}
        found: dict[tuple[int | None, str, str], dict[str, Any] | None] = {}
        first = (
            select(func.min(OutboxMessage.id))
            .where(
                OutboxMessage.incident_id.in_(incident_ids),
                OutboxMessage.channel.in_(sorted({row.channel for row in rows})),
                OutboxMessage.state == "sent",
            )
            .group_by(OutboxMessage.incident_id, OutboxMessage.channel, OutboxMessage.destination)
        )
        sent = select(
            OutboxMessage.incident_id,
            OutboxMessage.channel,
            OutboxMessage.destination,
            OutboxMessage.result,
        ).where(OutboxMessage.id.in_(first))
        for incident_id, channel, destination, result in session.execute(sent):
            key = (incident_id, channel, destination)
            if key in wanted:
                found[key] = result
        return found

    # -- send ---------------------------------------------------------------------------
    def _send_group(
        self,
        group: list[Outgoing],
        lease_until: datetime,
        results: queue.SimpleQueue[Outcome | None],
    ) -> None:
        """One destination's messages, in order; a failing destination stops the rest."""
        try:
            for index, message in enumerate(group):
                if self.now() > lease_until - LEASE_MARGIN:
                    # too slow to finish inside our lease: hand the rest back untried
                    outcome = Outcome(message, deferred=True)
                else:
                    outcome = self._send(message)
                results.put(outcome)
                if outcome.deferred or (
                    outcome.error and not outcome.permanent and not outcome.message_only
                ):
                    for rest in group[index + 1 :]:
                        results.put(Outcome(rest, deferred=True))
                    return
        finally:
            results.put(None)

    def _send(self, message: Outgoing) -> Outcome:
        sender = self.senders.get(message.channel)
        if sender is None:
            return Outcome(message, f"no sender configured for channel {message.channel!r}", True)
        try:
            return Outcome(message, result=sender.send(message))
        except TemporaryFailure as exc:
            return Outcome(
                message, str(exc), retry_after=exc.retry_after, message_only=exc.message_only
            )
        except PermanentFailure as exc:
            return Outcome(message, str(exc), True)
        except Exception as exc:  # unknown failures are retried, and shown
            return Outcome(message, f"{type(exc).__name__}: {exc}")

    # -- record -------------------------------------------------------------------------
    def _record(self, outcomes: list[Outcome]) -> None:
        """Write a set of outcomes in one transaction: one UPDATE for all of them, and a
        savepoint only around the receipts that tell the process what an answer means."""
        if not outcomes:
            return
        now = self.now()
        with self.db.write() as session:
            ids = [outcome.message.id for outcome in outcomes]
            rows = {
                row.id: row
                for row in session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.claimed_by,
                        OutboxMessage.state,
                        OutboxMessage.channel,
                        OutboxMessage.destination,
                        OutboxMessage.payload,
                    ).where(OutboxMessage.id.in_(ids))
                )
            }
            changes = []
            for outcome in outcomes:
                row = rows.get(outcome.message.id)
                if row is None or row.claimed_by != self.worker_id or row.state != "pending":
                    continue  # our lease lapsed and another worker owns it now
                change: dict[str, Any] = {"id": row.id, "lease_until": None}
                receipt = RECEIPTS.get(str(row.payload.get("receipt", "")))
                if outcome.error is None and not outcome.deferred:
                    unrecorded = self._receipt(session, receipt, row, outcome, now)
                    if unrecorded:  # delivered, but what its answer means could not be stored
                        outcome = Outcome(outcome.message, unrecorded, message_only=True)
                if outcome.deferred:
                    change["attempts"] = outcome.message.attempt - 1  # never tried
                elif outcome.error is None:
                    change |= {"state": "sent", "sent_at": now, "last_error": None}
                    change["result"] = outcome.result or {}
                else:
                    change |= self._failed(row.id, row.channel, row.destination, outcome, now)
                changes.append(change)
            _update_by_id(session, changes)

    def _receipt(
        self, session: Session, receipt: Any, row: Any, outcome: Outcome, now: datetime
    ) -> str | None:
        """Run a delivered message's receipt in a savepoint; the error if it raised."""
        if receipt is None:
            return None
        try:
            with session.begin_nested():
                receipt(self.ctx_for(session, now), row.payload, outcome.result or {})
        except Exception as exc:  # the message is asked again: its sender finds the answer
            log.exception("message %s: recording its receipt failed", row.id)
            return f"delivered, but recording the answer failed: {type(exc).__name__}: {exc}"
        return None

    def _failed(
        self, row_id: int, channel: str, destination: str, outcome: Outcome, now: datetime
    ) -> dict[str, Any]:
        attempt = outcome.message.attempt
        if outcome.permanent or attempt >= self.max_attempts:
            log.error("message %s dead-lettered: %s", row_id, outcome.error)
            return {"state": "dead", "last_error": outcome.error}
        delay = backoff(attempt, jitter=self.rng.random(), retry_after=outcome.retry_after)
        if not outcome.message_only:  # the destination waits with it, and keeps its order
            key = (channel, destination)
            self.paused[key] = max(self.paused.get(key, now), now + delay)
        log.warning("message %s: %s; retry in %s", row_id, outcome.error, delay)
        return {"next_attempt_at": now + delay, "last_error": outcome.error}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.recorder.shutdown(wait=True)
