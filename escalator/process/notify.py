"""Telling people: one outbox row per person and channel, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from escalator.process.context import Ctx
from escalator.process.records import enqueue
from escalator.store.models import Incident, TimelineEvent

CONSOLE = "console"


def notify(
    ctx: Ctx,
    incident: Incident,
    *,
    people: Iterable[str],
    subject: str,
    body: str = "",
    because: TimelineEvent,
) -> int:
    """Queue ``subject`` for each person; ``because`` makes the message's idempotency key.

    With no external channel configured every message goes to the console channel, which the
    web console shows. Returns how many messages were queued.
    """
    count = 0
    for person in dict.fromkeys(people):  # each person once, in order
        enqueue(
            ctx,
            incident=incident,
            channel=CONSOLE,
            destination=person,
            subject=f"[{incident.key}] {subject}",
            body=body,
            idempotency_key=f"{CONSOLE}:{because.id}:{person}",
            payload={"event": because.kind, "incident": incident.key},
        )
        count += 1
    return count
