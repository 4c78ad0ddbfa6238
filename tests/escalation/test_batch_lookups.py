"""A batch of timers fired together reads its incidents' pages, tickets, council cases and
waiting messages once for the whole batch (``process/core/known.py``), and every lookup then
answers as its own query would have: the batch leaves the same rows as the same timers fired
one at a time."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from escalator.app import Services
from escalator.process.core import known, records
from escalator.store.models import OutboxMessage, Page, TimelineEvent, Timer
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock

LOOKED_UP = ("pages", "tickets", "council_cases", "outbox")
BATCH = 4


@contextmanager
def selects(svc: Services) -> Iterator[Counter[str]]:
    """Counts the SELECTs of rows of each table (by the table of their first column)."""
    seen: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        found = re.match(r"\s*SELECT\s+(\w+)\.", statement)
        if found:
            seen[found.group(1)] += 1

    event.listen(svc.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", count)


def _burst(svc: Services, clock: FakeClock, *, together: bool) -> tuple[list[Any], Counter[str]]:
    """``BATCH`` incidents paging on call whose acknowledgement time runs out together; what
    firing them leaves behind, incident by incident, with the incident's key taken out."""
    keys = [escalated(svc, f"checkout down {n}") for n in range(BATCH)]
    clock.advance(timedelta(hours=1))
    worker = svc.worker()
    with selects(svc) as seen:
        fired = worker.fire_due_timers() if together else worker.firing.fire_batch(together=False)
    assert fired >= BATCH
    left = []
    with svc.db.read() as s:
        for key in keys:
            incident_id = records.incident_id(key)

            def plain(text: str | None, key: str = key) -> str:  # the same for each incident
                return re.sub(r"\bpage \d+", "page N", re.sub(rf"\b{key}\b", "INC", text or ""))

            left.append(
                (
                    [
                        (
                            m.channel,
                            m.destination,
                            plain(m.subject),
                            (m.coalesce_key or "").replace(f":{incident_id}:", ":INC:"),
                        )
                        for m in s.scalars(
                            select(OutboxMessage)
                            .where(OutboxMessage.incident_id == incident_id)
                            .order_by(OutboxMessage.id)
                        )
                    ],
                    [
                        (p.chain, p.step, p.person, p.state)
                        for p in s.scalars(
                            select(Page).where(Page.incident_id == incident_id).order_by(Page.id)
                        )
                    ],
                    [
                        e.kind
                        for e in s.scalars(
                            select(TimelineEvent)
                            .where(TimelineEvent.incident_id == incident_id)
                            .order_by(TimelineEvent.id)
                        )
                    ],
                    sorted(
                        (t.kind, t.state)
                        for t in s.scalars(select(Timer).where(Timer.incident_id == incident_id))
                    ),
                )
            )
    return left, seen


def test_a_batch_reads_its_incidents_once_and_leaves_what_one_at_a_time_would(
    paging: Services, clock: FakeClock
) -> None:
    together, seen_together = _burst(paging, clock, together=True)
    one_by_one, seen_one_by_one = _burst(paging, clock, together=False)
    assert together == one_by_one
    messages, pages, kinds, _ = together[0]
    assert [p[3] for p in pages] == ["timed_out", "paging"], "the next person was paged"
    assert "page_timed_out" in kinds
    # the root message's update waiting since the escalation took the new state in its place
    assert len([m for m in messages if m[3]]) == len({m[3] for m in messages if m[3]})
    for table in LOOKED_UP:
        assert seen_together[table] == 1, f"{table}: read once for the batch"
        assert seen_one_by_one[table] >= BATCH, f"{table}: read per timer one at a time"


def test_on_postgresql_the_waiting_messages_a_batch_may_rewrite_are_not_claimed_meanwhile(
    paging: Services,
) -> None:
    """A batch may fold a newer text into a message still waiting (coalescing); on
    PostgreSQL it holds those rows, so another worker's claim (SKIP LOCKED) leaves them
    until the batch commits instead of sending the old text."""
    if not paging.db.is_postgres:
        pytest.skip("SQLite's one writer holds them all")
    incident_id = records.incident_id(escalated(paging))
    with paging.db.write() as session:
        known.load(session, [incident_id])
        waiting = [m.id for m in known.rows(session, OutboxMessage, incident_id) or []]
        assert waiting, "the escalation left messages waiting"
        with paging.db.engine.connect() as other:
            claimable = other.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.id.in_(waiting))
                .with_for_update(skip_locked=True)
            ).all()
        assert claimable == []
