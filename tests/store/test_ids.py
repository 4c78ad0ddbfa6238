"""Ids taken before a row is written (``store/ids.py``): unique within a transaction and
across transactions, whoever wrote in between."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, insert, select

from escalator.app import Services
from escalator.process.alert import opening
from escalator.store.ids import next_id
from escalator.store.models import Page, TimelineEvent


def _page(page_id: int | None, incident_id: int) -> Page:
    return Page(
        id=page_id,
        incident_id=incident_id,
        chain="on_call",
        step=0,
        target="on_call_engineer",
        person="michael",
        state="paging",
        reason="",
        paged_at=datetime.now(UTC),
    )


def test_ids_taken_before_the_write_never_collide(svc: Services) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        incident_id = opening.report(ctx, title="disk full").id
    with svc.db.write() as s:
        first = [next_id(s, Page) for _ in range(3)]
        s.add_all([_page(i, incident_id) for i in first])  # written only at the commit
    assert first == [first[0], first[0] + 1, first[0] + 2]
    with svc.db.write() as other:  # another transaction writes a page the database numbers
        other.add(_page(None, incident_id))
    with svc.db.write() as s:
        again = next_id(s, Page)
        s.add(_page(again, incident_id))
        s.flush()
        assert next_id(s, Page) == again + 1
    assert again > first[-1] + 1, "an id written since is not handed out again"


def test_a_flush_writes_a_tables_new_rows_in_one_statement_numbered_in_order(
    svc: Services,
) -> None:
    """SQLite cannot return the ids of a multi-row INSERT in order, so new rows get their ids
    before the flush (``ids.assign``) and go in one executemany; PostgreSQL returns them."""
    with svc.unit_of_work("santhosh") as ctx:
        incident_id = opening.report(ctx, title="disk full").id
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO timeline_events"):
            inserts.append(statement)

    now = datetime.now(UTC)
    with svc.db.write() as s:
        # a row the database numbers, written in this transaction before the ORM's
        s.execute(
            insert(TimelineEvent).values(
                incident_id=incident_id, at=now, actor="x", kind="core", note="", data={}
            )
        )
        events = [
            TimelineEvent(incident_id=incident_id, at=now, actor="x", kind=f"k{n}", note="")
            for n in range(5)
        ]
        s.add_all(events)
        event.listen(svc.db.engine, "before_cursor_execute", count)
        try:
            s.flush()
        finally:
            event.remove(svc.db.engine, "before_cursor_execute", count)
        core_id = s.scalar(select(TimelineEvent.id).where(TimelineEvent.kind == "core"))
    ids = [e.id for e in events]
    assert len(inserts) == 1, "five new rows, one statement"
    assert ids == sorted(ids) and len(set(ids)) == 5, "numbered in the order they were added"
    assert ids[0] > core_id, "the row written by Core in this transaction is counted"


def test_an_id_taken_after_a_core_insert_counts_that_row(svc: Services) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        incident_id = opening.report(ctx, title="disk full").id
    with svc.db.write() as s:
        first = next_id(s, Page)
        s.add(_page(first, incident_id))
        s.flush()
        s.execute(insert(Page).values(**_row(incident_id)))  # numbered by the database
        core_id = s.scalar(select(func.max(Page.id)))
        again = next_id(s, Page)
        s.add(_page(again, incident_id))
        s.flush()  # no collision
    assert again > core_id > first


def _row(incident_id: int) -> dict[str, Any]:
    page = _page(None, incident_id)
    return {c.key: getattr(page, c.key) for c in Page.__table__.columns if c.key != "id"}
