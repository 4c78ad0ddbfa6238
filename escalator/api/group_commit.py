"""Group commit for intake: requests that arrive while a commit is in flight share the next.

Each request waits until its alerts are durably stored, so a 2xx still means "safe". Under
load one transaction carries many posts, which is what makes durable intake fast.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from escalator.store.db import Database

log = logging.getLogger("escalator.intake")

Write = Callable[[Session, list[dict[str, Any]]], None]
_Item = tuple[list[dict[str, Any]], asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class GroupCommitter:
    def __init__(self, db: Database, write: Write, *, max_rows: int = 5000) -> None:
        self.db = db
        self.write = write
        self.max_rows = max_rows
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="escalator-intake", daemon=True)
        self._thread.start()

    async def submit(self, rows: list[dict[str, Any]]) -> None:
        """Return once ``rows`` are committed; raise if their transaction failed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((rows, loop, future))
        await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first[0])
            while size < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._commit(batch)
                    return
                batch.append(item)
                size += len(item[0])
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        try:
            self._store([row for rows, _, _ in batch for row in rows])
            outcomes: list[BaseException | None] = [None] * len(batch)
        except Exception:
            # one bad post must not sink the others: store each on its own
            log.exception("group commit of %d posts failed; storing one by one", len(batch))
            outcomes = []
            for rows, _, _ in batch:
                try:
                    self._store(rows)
                    outcomes.append(None)
                except Exception as exc:
                    outcomes.append(exc)
        for (_, loop, future), outcome in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, future, outcome)

    def _store(self, rows: list[dict[str, Any]]) -> None:
        merged: dict[tuple[Any, Any], dict[str, Any]] = {}
        for row in rows:  # the same alert twice in one statement is an error: last one wins
            merged[(row["source"], row["fingerprint"])] = row
        with self.db.write() as session:
            self.write(session, list(merged.values()))


def _settle(future: asyncio.Future[None], outcome: BaseException | None) -> None:
    if future.done():
        return
    if outcome is None:
        future.set_result(None)
    else:
        future.set_exception(outcome)
