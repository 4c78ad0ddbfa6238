"""Wiring: settings -> database, process, clock, senders, worker. Nothing runs at import."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from escalator.config.process import Process
from escalator.config.process_loader import load_process
from escalator.config.settings import Settings
from escalator.engine.clock import Clock, SystemClock
from escalator.engine.senders import ConsoleSender, Sender
from escalator.engine.worker import Worker
from escalator.process.context import Ctx
from escalator.process.notify import CONSOLE
from escalator.store.db import Database


@dataclass
class Services:
    settings: Settings
    process: Process
    db: Database
    clock: Clock
    senders: dict[str, Sender] = field(default_factory=dict)

    @contextmanager
    def unit_of_work(self, actor: str) -> Iterator[Ctx]:
        """One transaction in which ``actor`` changes things; commits when the block ends."""
        with self.db.write() as session:
            yield Ctx(session=session, process=self.process, now=self.clock.now(), actor=actor)

    def worker(self, worker_id: str | None = None) -> Worker:
        return Worker(
            self.db,
            process=self.process,
            clock=self.clock,
            senders=self.senders,
            worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
            batch=self.settings.worker_batch,
            max_attempts=self.settings.outbox_max_attempts,
        )


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Services:
    """Everything the faces need; raises ProcessFileError on a bad process file."""
    settings = settings or Settings()
    process = load_process(settings.process_file)
    senders: dict[str, Sender] = {CONSOLE: ConsoleSender()}
    return Services(
        settings=settings,
        process=process,
        db=Database(settings.database_url),
        clock=clock or SystemClock(),
        senders=senders,
    )
