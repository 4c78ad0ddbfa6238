"""Ids taken before a row is written, so that what refers to a new row (a timer's payload, a
signed link, an idempotency key) needs no flush of the transaction so far.

PostgreSQL takes them from the table's own sequence. SQLite has one writer at a time, and the
transaction holds the write lock from its start (``BEGIN IMMEDIATE``): the next id is one
past the largest stored, counted on within the transaction — the id SQLite itself would give.

On SQLite every new row a write session flushes gets its id here too (:func:`assign`), in the
order the rows were added. SQLite cannot return the ids of a multi-row INSERT in order, so
without them the ORM writes each new row in a statement of its own; with them it writes a
table's new rows in one executemany — a burst of 200 fired timers went from about 1,800
INSERT statements to a handful. (PostgreSQL returns the ids of a multi-row INSERT in order:
nothing to do there.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table, func, inspect, select, text
from sqlalchemy.orm import Session, UOWTransaction

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
    return _reserve(session, table, 1)


def _reserve(session: Session, table: Table, count: int) -> int:
    """The first of ``count`` ids for ``table``, one past both the largest stored (a row a
    Core INSERT wrote since is counted too) and the last this transaction handed out. Asked
    on the connection: no autoflush (the rows not written yet took their ids here too)."""
    taken = _taken(session)
    stored = session.connection().scalar(select(func.max(table.c.id))) or 0
    first = max(stored, taken.get(table.name, 0)) + 1
    taken[table.name] = first + count - 1
    return first


def _taken(session: Session) -> dict[str, int]:
    """What this transaction handed out, table by table (counted afresh in each)."""
    transaction = session.get_transaction()
    held = session.info.get(_TAKEN)
    if held is None or held[0] is not transaction:
        held = session.info[_TAKEN] = (transaction, {})
    return held[1]


def assign(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    """SQLite, before a flush: give the new rows that have no id yet theirs, table by table,
    in the order they were added. The largest stored id is read afresh at each flush, so a row
    written by a Core INSERT in this transaction is counted too."""
    new: dict[Table, list[Any]] = {}
    for obj in session.new:
        state = inspect(obj)
        key = state.mapper.primary_key
        numbered = len(key) == 1 and isinstance(key[0].type, Integer) and key[0].key == "id"
        if numbered and obj.id is None:
            new.setdefault(state.mapper.local_table, []).append(state)
    for table, states in new.items():
        first = _reserve(session, table, len(states))
        for offset, state in enumerate(sorted(states, key=lambda s: s.insert_order)):
            state.obj().id = first + offset
