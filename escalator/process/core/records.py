"""Loading incidents and writing the rows every stage writes: timeline events, timers, messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from escalator.domain.lifecycle import Change, IncidentState, Stage, Status
from escalator.process.core import known
from escalator.process.core.context import Ctx
from escalator.process.core.errors import NotFound, possible_id
from escalator.store.models import KEY_PREFIX, Incident, OutboxMessage, TimelineEvent, Timer
from escalator.store.upsert import dialect_insert

CANCELS = "deferred_cancels"  # session.info key: cancellations waiting for apply_cancels
SCHEDULED = "scheduled"  # session.info key: timers scheduled in this transaction, by incident id
FIRING = "firing"  # session.info key: the timers a worker's batch is firing, by incident id

_KEY = re.compile(rf"^(?:{KEY_PREFIX}-)?(\d{{1,18}})$", re.IGNORECASE)


def incident_id(key: str) -> int:
    match = _KEY.match(key.strip())
    if not match:
        raise NotFound(f"no incident {key!r}: keys look like {KEY_PREFIX}-42")
    return possible_id(int(match.group(1)), f"no incident {key}")


def load(ctx: Ctx, key: str, *, for_update: bool = True) -> Incident:
    """The incident named by ``key``, locked against concurrent changes when ``for_update``."""
    query = select(Incident).where(Incident.id == incident_id(key))
    if for_update:
        query = query.with_for_update()
    incident = ctx.session.scalars(query).one_or_none()
    if incident is None:
        raise NotFound(f"no incident {key}")
    return incident


def state_of(incident: Incident) -> IncidentState:
    return IncidentState(
        Status(incident.status), Stage(incident.stage), incident.owner_role, incident.owner_person
    )


def record(
    ctx: Ctx,
    incident: Incident,
    kind: str,
    *,
    note: str = "",
    change: Change | None = None,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        incident_id=incident.id,
        at=ctx.now,
        actor=actor or ctx.actor,
        kind=kind,
        field=change.field if change else None,
        before=change.before if change else None,
        after=change.after if change else None,
        note=note,
        data=_via(ctx, data or {}, actor),
    )
    ctx.session.add(event)  # flushed with the next query or the commit, with its neighbours
    return event


def _via(ctx: Ctx, data: dict[str, Any], actor: str | None) -> dict[str, Any]:
    """What the person did through a face other than the API or console (Slack) says so."""
    if ctx.via and (actor is None or actor == ctx.actor) and "via" not in data:
        return {**data, "via": ctx.via}
    return data


def stored_id(ctx: Ctx, event: TimelineEvent) -> int:
    """An event's id, for a row that keeps it (events are written with the next flush; an
    idempotency key uses ``event.ref`` instead and needs no flush)."""
    if event.id is None:
        ctx.session.flush()
    return event.id


def schedule(
    ctx: Ctx, incident: Incident, kind: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> Timer:
    timer = Timer(
        incident_id=incident.id,
        kind=kind,
        due_at=due_at,
        state="pending",
        payload=payload or {},
        created_at=ctx.now,
    )
    ctx.session.add(timer)
    ctx.session.info.setdefault(SCHEDULED, {}).setdefault(incident.id, []).append(timer)
    return timer


def schedule_once(
    ctx: Ctx, kind: str, due_at: datetime, *, key: str, payload: dict[str, Any] | None = None
) -> None:
    """A timer of no incident that several processes (or repeated calls) may each schedule:
    stored once, by ``key``."""
    stmt = dialect_insert(ctx.session, Timer.__table__).values(
        incident_id=None,
        kind=kind,
        due_at=due_at,
        state="pending",
        payload=payload or {},
        created_at=ctx.now,
        dedup_key=key,
    )
    ctx.session.execute(stmt.on_conflict_do_nothing(index_elements=["dedup_key"]))


def cancel_timers(ctx: Ctx, incident: Incident, kinds: tuple[str, ...] | None = None) -> None:
    """Cancel the incident's pending timers (of ``kinds``, or all).

    In a worker's batch (``defer_cancels``) the UPDATE waits for the batch's next write,
    where the cancellations of the whole batch go in one statement per set of kinds; what
    the batch holds in hand (its firing timers, the timers it scheduled) learns it at once."""

    def cancels(timer: Timer) -> bool:
        return (
            timer.incident_id == incident.id
            and timer.state == "pending"
            and (kinds is None or timer.kind in kinds)
        )

    deferred: list[tuple[int, tuple[str, ...] | None]] | None = ctx.session.info.get(CANCELS)
    # timers scheduled in this transaction: written cancelled (or updated so, if written)
    for new in ctx.session.info.get(SCHEDULED, {}).get(incident.id, ()):
        if cancels(new):
            if new.id is None or deferred is not None:
                new.state, new.fired_at = "cancelled", ctx.now
            else:  # written already: the UPDATE below cancels it
                set_committed_value(new, "state", "cancelled")
                set_committed_value(new, "fired_at", ctx.now)
    if deferred is not None:
        deferred.append((incident.id, kinds))
    else:
        query = update(Timer).where(Timer.incident_id == incident.id, Timer.state == "pending")
        if kinds is not None:
            query = query.where(Timer.kind.in_(kinds))
        with ctx.session.no_autoflush:  # the UPDATE needs nothing else of this transaction
            ctx.session.execute(
                query.values(state="cancelled", fired_at=ctx.now),
                execution_options={"synchronize_session": False},
            )
    # the timers of the worker's batch learn it too, without a SELECT: a timer cancelled by an
    # earlier one of the batch must not fire
    for timer in ctx.session.info.get(FIRING, {}).get(incident.id, ()):
        if cancels(timer):
            set_committed_value(timer, "state", "cancelled")
            set_committed_value(timer, "fired_at", ctx.now)


def defer_cancels(session: Session) -> None:
    """From now on in this transaction, :func:`cancel_timers` leaves its UPDATE to
    :func:`apply_cancels` (a worker's batch: one statement for many incidents)."""
    session.info[CANCELS] = []


def apply_cancels(session: Session, now: datetime) -> None:
    """Write the cancellations deferred so far, one UPDATE per set of kinds. The timers this
    transaction scheduled are left out: they were cancelled in hand where they had to be."""
    deferred: list[tuple[int, tuple[str, ...] | None]] = session.info.get(CANCELS) or []
    if not deferred:
        return
    by_kinds: dict[tuple[str, ...] | None, set[int]] = {}
    for incident_id, kinds in deferred:
        by_kinds.setdefault(kinds, set()).add(incident_id)
    deferred.clear()
    mine = [
        t.id
        for timers in session.info.get(SCHEDULED, {}).values()
        for t in timers
        if t.id is not None
    ]
    table = Timer.__table__
    for kinds, incident_ids in by_kinds.items():
        query = table.update().where(
            table.c.incident_id.in_(sorted(incident_ids)), table.c.state == "pending"
        )
        if kinds is not None:
            query = query.where(table.c.kind.in_(kinds))
        if mine:
            query = query.where(table.c.id.not_in(mine))
        session.connection().execute(query.values(state="cancelled", fired_at=now))


Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


def one_line(text: str, limit: int = 500) -> str:
    """A subject: one line (a header cannot hold a line break), at most ``limit`` long."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def enqueue(
    ctx: Ctx,
    *,
    incident: Incident | None,
    channel: str,
    destination: str,
    subject: str,
    body: str = "",
    idempotency_key: str,
    payload: dict[str, Any] | None = None,
    rank: int = 1,
    coalesce: str | None = None,
    merge: Merge | None = None,
) -> OutboxMessage:
    """Queue a message. With ``coalesce``, a message of that key still waiting (not being
    sent) takes this one's subject, body and ``merge(its payload, this payload)`` instead —
    the last of its queue only, unless ``merge`` is None (a whole-state message such as a
    root-message update, where only the newest matters)."""
    payload = payload or {}
    if coalesce is not None:
        waiting = _waiting(ctx, incident, coalesce, tail=merge is not None)
        if waiting is not None:
            waiting.subject, waiting.body = one_line(subject), body
            waiting.payload = merge(waiting.payload, payload) if merge else payload
            return waiting  # in its place in the queue
    message = OutboxMessage(
        rank=rank,
        incident_id=incident.id if incident else None,
        channel=channel,
        destination=destination,
        subject=one_line(subject),
        body=body,
        payload=payload,
        idempotency_key=idempotency_key,
        state="pending",
        attempts=0,
        next_attempt_at=ctx.now,
        created_at=ctx.now,
        coalesce_key=coalesce,
    )
    ctx.session.add(message)
    ctx.session.info.setdefault(TAILS, {})[queue_of(message)] = message
    if coalesce is not None:
        ctx.session.info.setdefault(COALESCING, {})[coalesce] = message
    return message


TAILS = "outbox_tails"  # session.info: the newest message this transaction queued, per queue
COALESCING = "outbox_coalescing"  # session.info: coalesce key -> message queued here


def queue_of(message: OutboxMessage) -> tuple[int | None, str, str]:
    """The queue a message waits in: its incident, channel and destination."""
    return (message.incident_id, message.channel, message.destination)


def _waiting(ctx: Ctx, incident: Incident | None, key: str, *, tail: bool) -> OutboxMessage | None:
    """The pending, unleased message of ``key`` (the newest of its queue, with ``tail``):
    queued by this transaction, or before it."""
    row = ctx.session.info.get(COALESCING, {}).get(key)
    loaded = None if incident is None else known.rows(ctx.session, OutboxMessage, incident.id)
    if row is None and loaded is not None:  # the batch read its incidents' waiting messages
        waiting = [
            m
            for m in loaded
            if m.coalesce_key == key and m.state == "pending" and m.lease_until is None
        ]
        row = waiting[-1] if waiting else None
    elif row is None:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.coalesce_key == key,
                OutboxMessage.state == "pending",
                OutboxMessage.lease_until.is_(None),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        if ctx.is_postgres:  # not claimed by another worker while this one rewrites it
            query = query.with_for_update()
        with ctx.session.no_autoflush:  # what this transaction queued is known without it
            row = ctx.session.scalars(query).first()
    if row is None or not tail:
        return row
    queued_here = ctx.session.info.get(TAILS, {}).get(queue_of(row))
    if queued_here is not None:
        return row if queued_here is row else None
    if loaded is not None:
        queue = queue_of(row)
        in_queue = [m for m in loaded if m.state == "pending" and queue_of(m) == queue]
        return row if in_queue and in_queue[-1] is row else None
    newest = ctx.session.scalar(
        select(func.max(OutboxMessage.id)).where(
            OutboxMessage.state == "pending",
            OutboxMessage.incident_id == row.incident_id,
            OutboxMessage.channel == row.channel,
            OutboxMessage.destination == row.destination,
        )
    )
    return row if newest == row.id else None
