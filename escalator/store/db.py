"""Engine and sessions. SQLite runs in WAL mode with writers taking the lock up front.

SQLite has one writer at a time. Within a process, a write transaction first waits its turn
on a first-come lock, then begins (``BEGIN IMMEDIATE``), and hands the turn on at its commit
or rollback; so many concurrent requests queue in order instead of spinning on the file lock
until its timeout ("database is locked"). The turn is taken when the transaction really
begins — at its first statement, in the thread that runs it — never while a request merely
holds an unused session, so a request waiting for its turn never blocks the one that has it.
Between processes SQLite's busy timeout does the queueing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from escalator.store import ids


def normalize_url(url: str) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


# Requests run in a thread pool of 40 (anyio's default): enough connections for all of them
# and the worker, so that nobody waits for a connection.
POOL = {"pool_size": 20, "max_overflow": 30, "pool_timeout": 60}


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = normalize_url(url)
    # a failed statement's parameters can be secrets (an intake secret's digest, a token)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **{**POOL, **kwargs})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {**POOL, **kwargs}
    engine = create_engine(parsed, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    turn = FairLock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get("escalator_write"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        # A writer takes the write lock at BEGIN so it never fails half-way on an upgrade.
        turn.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turn.release()
            raise
        conn.info["escalator_turn"] = True

    def _hand_on(conn: Any) -> None:
        if conn.info.pop("escalator_turn", False):
            turn.release()

    event.listen(engine, "commit", _hand_on)
    event.listen(engine, "rollback", _hand_on)
    return engine


class FairLock:
    """A lock handed out first come, first served (``threading.Lock`` makes no promise of
    order, so under a storm one writer could wait indefinitely).

    It belongs to no thread: FastAPI may enter a request's unit of work in one thread and
    leave it in another. It is not re-entrant either, so a write opened inside another
    would wait for itself: that ends after ``timeout`` with an error, like SQLite's own
    busy timeout would.
    """

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._mutex = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._queue.append(turn)
        if turn.wait(self.timeout):
            return  # release() handed the lock to us
        with self._mutex:
            if turn.is_set():  # handed over just as we gave up: keep it
                return
            self._queue.remove(turn)
        raise OperationalError(
            "BEGIN IMMEDIATE",
            None,
            TimeoutError(f"waited {self.timeout:.0f}s for this process's turn to write"),
        )

    def release(self) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().set()  # still held, by the next in line
            else:
                self._held = False

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


WORK_CHANNEL = "escalator_work"  # PostgreSQL NOTIFY channel: a use case made work


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # set when a transaction of this process may have made work for a worker (an alert,
        # a message, a timer); a worker in this process wakes on it, and on PostgreSQL the
        # commit also NOTIFYs the workers of other processes
        self.work = threading.Event()
        writer = self.engine.execution_options(escalator_write=True)
        self._writes = sessionmaker(writer, expire_on_commit=False)
        if not self.is_postgres:  # new rows' ids known before the flush: see store/ids.py
            event.listen(self._writes, "before_flush", ids.assign)
        self._reads = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that may write: committed on success, rolled back on error."""
        with self._writes() as session, session.begin():
            yield session

    def made_work(self, session: Session) -> None:
        """In a write transaction that may have made work: wake the workers when it commits
        (call :meth:`woke` after the commit)."""
        if self.is_postgres:
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WORK_CHANNEL})

    def woke(self) -> None:
        self.work.set()

    def listener_url(self) -> str:
        """The URL psycopg itself takes, for a LISTEN connection."""
        return (
            normalize_url(self.url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reads() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
