"""Ids taken before a row is written, so that what refers to a new row (a timer's payload, a
signed link, an idempotency key) needs no flush of the transaction so far.

PostgreSQL takes them from the table's own sequence. SQLite has one writer at a time, and the
transaction holds the write lock from its start (``BEGIN IMMEDIATE``): the next id is one
past the largest stored, counted on within the transaction. Every row of a table that takes
its ids here must take them here, on SQLite, or a row written without one could be given an
id already handed out.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from escalator.store.models import Base

_TAKEN = "ids_taken"  # session.info: (transaction, table -> the last id it handed out)


def next_id(session: Session, model: type[Base]) -> int:
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        return int(
            session.scalar(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id'))"),
                {"table": table.name},
            )
        )
    transaction = session.get_transaction()
    held = session.info.get(_TAKEN)
    if held is None or held[0] is not transaction:  # counted afresh in each transaction
        held = session.info[_TAKEN] = (transaction, {})
    taken: dict[str, int] = held[1]
    last = taken.get(table.name)
    if last is None:
        with session.no_autoflush:  # the rows not written yet took their ids here too
            last = session.scalar(select(func.max(table.c.id))) or 0
    taken[table.name] = last + 1
    return last + 1
