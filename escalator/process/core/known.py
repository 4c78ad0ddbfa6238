"""What a worker's batch of timers will read about its incidents, read once for the batch.

Firing a timer reads a few rows of its incident besides the incident itself: its pages, its
ticket, its council case, the messages of it still waiting (and not on their way). One query
each per timer was most of the cost of a burst (6,000 acknowledgement timeouts are 24,000 such
queries); :func:`load` reads them for the whole batch in one query per table, and the lookups
below answer from what it read. Rows added to the session afterwards (a page opened by an
earlier timer of the batch) join what is known as they are added, and deleted ones leave, so
a lookup answers as its query would have. Outside a batch (no :func:`load` in the session)
every lookup says "not known" and its caller queries as always.

Only the worker's batch fired together loads them: if any of its timers raises, that whole
transaction (and this session) is thrown away before the batch is fired again one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, event, select
from sqlalchemy.orm import Session

from escalator.store.models import CouncilCase, OutboxMessage, Page, Ticket

KNOWN = "known_rows"  # session.info: model -> incident id -> its rows

# the tables read for a batch, and which of their rows: of the messages, those waiting and
# not on their way (the ones a newer message may be folded into). A message on its way is the
# oldest waiting one of its queue (only queue heads are claimed), so leaving those out changes
# no answer about which waiting message is the newest of its queue.
_TABLES: dict[type[Any], Any] = {
    Page: None,
    Ticket: None,
    CouncilCase: None,
    OutboxMessage: and_(OutboxMessage.state == "pending", OutboxMessage.lease_until.is_(None)),
}


def load(session: Session, incident_ids: Iterable[int]) -> None:
    """Read what a batch's timers will look up about ``incident_ids``, one query a table."""
    ids = sorted(set(incident_ids))
    known: dict[type[Any], dict[int, list[Any]]] = {}
    for model, only in _TABLES.items():
        rows: dict[int, list[Any]] = {incident_id: [] for incident_id in ids}
        query = select(model).where(model.incident_id.in_(ids))
        if only is not None:
            query = query.where(only)
        if model is OutboxMessage and session.get_bind().dialect.name == "postgresql":
            # a waiting message may take a newer one's text (coalescing): locked, another
            # worker's claim (SKIP LOCKED) leaves it until this batch commits, instead of
            # sending the old text while the batch writes the new one over it. (Messages on
            # their way are not locked: their outcomes are recorded while the batch fires.)
            query = query.order_by(OutboxMessage.id).with_for_update()
        for row in session.scalars(query):
            rows[row.incident_id].append(row)
        known[model] = rows
    session.info[KNOWN] = known
    if not event.contains(session, "transient_to_pending", _added):
        event.listen(session, "transient_to_pending", _added)
        event.listen(session, "persistent_to_deleted", _deleted)


def rows(session: Session, model: type[Any], incident_id: int) -> list[Any] | None:
    """The rows of ``model`` of the incident, oldest first — or None when they were not loaded
    (the caller asks the database)."""
    of_incident = session.info.get(KNOWN, {}).get(model, {}).get(incident_id)
    if of_incident is None:
        return None
    return sorted(of_incident, key=lambda row: _order(row))


def _order(row: Any) -> int:
    key = getattr(row, "id", None)
    return key if key is not None else 1 << 62  # not written yet: newest


def _of(session: Session, instance: Any) -> list[Any] | None:
    known = session.info.get(KNOWN)
    if known is None:
        return None
    of_model = known.get(type(instance))
    if of_model is None:
        return None
    return of_model.get(getattr(instance, "incident_id", None))


def _added(session: Session, instance: Any) -> None:
    of_incident = _of(session, instance)
    if of_incident is not None and instance not in of_incident:
        of_incident.append(instance)


def _deleted(session: Session, instance: Any) -> None:
    of_incident = _of(session, instance)
    if of_incident is not None and instance in of_incident:
        of_incident.remove(instance)
