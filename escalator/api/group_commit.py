"""Group commit for intake: requests that arrive while a commit is in flight share the next.

Each request waits until its alerts are durably stored, so a 2xx still means "safe". Under
load one transaction carries many posts, which is what makes durable intake fast.

Each post names the integration that sent it, and the transaction that stores it first checks
that the integration is still live: a secret revoked a moment ago (in this process or another)
stores nothing from the next commit on, whatever a cache said when the request came in.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from escalator.process.core.integrations import Revoked
from escalator.store.db import Database

log = logging.getLogger("escalator.intake")

Write = Callable[[Session, list[dict[str, Any]]], None]
Live = Callable[[Session, set[int]], set[int]]  # which of these integrations are not revoked
_Item = tuple[list[dict[str, Any]], int, asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class GroupCommitter:
    def __init__(self, db: Database, write: Write, live: Live, *, max_rows: int = 5000) -> None:
        self.db = db
        self.write = write
        self.live = live
        self.max_rows = max_rows
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="escalator-intake", daemon=True)
        self._thread.start()

    async def submit(self, rows: list[dict[str, Any]], integration: int) -> None:
        """Return once ``rows`` are committed; raise ``Revoked`` if ``integration`` was
        revoked, or whatever made their transaction fail."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((rows, integration, loop, future))
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
        posts = [(rows, integration) for rows, integration, _, _ in batch]
        try:
            outcomes = self._store(posts)
        except Exception:
            # one bad post must not sink the others: store each on its own
            log.exception("group commit of %d posts failed; storing one by one", len(batch))
            outcomes = []
            for post in posts:
                try:
                    outcomes.extend(self._store([post]))
                except Exception as exc:
                    outcomes.append(exc)
        for (_, _, loop, future), outcome in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, future, outcome)

    def _store(self, posts: list[tuple[list[dict[str, Any]], int]]) -> list[BaseException | None]:
        """Store the posts of live integrations in one transaction; an outcome per post."""
        with self.db.write() as session:
            live = self.live(session, {integration for _, integration in posts})
            merged: dict[tuple[Any, Any], dict[str, Any]] = {}
            outcomes: list[BaseException | None] = []
            for rows, integration in posts:
                if integration not in live:
                    outcomes.append(Revoked(f"integration {integration} was revoked"))
                    continue
                for row in rows:  # the same alert twice in one statement is an error
                    merged[(row["source"], row["fingerprint"])] = row  # the last one wins
                outcomes.append(None)
            if merged:
                self.write(session, list(merged.values()))
                self.db.made_work(session)
        if merged:
            self.db.woke()  # the worker folds them into incidents now, not at its next poll
        return outcomes


def _settle(future: asyncio.Future[None], outcome: BaseException | None) -> None:
    if future.done():
        return
    if outcome is None:
        future.set_result(None)
    else:
        future.set_exception(outcome)
