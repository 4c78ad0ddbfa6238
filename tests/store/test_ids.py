"""Ids taken before a row is written (``store/ids.py``): unique within a transaction and
across transactions, whoever wrote in between."""

from __future__ import annotations

from datetime import UTC, datetime

from escalator.app import Services
from escalator.process.alert import opening
from escalator.store.ids import next_id
from escalator.store.models import Page


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
