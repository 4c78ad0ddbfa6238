"""Outbound channels as seen by the dispatcher: a Protocol, its failure types, and the console."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

log = logging.getLogger("escalator.console")


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    destination: str
    subject: str
    body: str
    payload: dict[str, Any]
    idempotency_key: str
    attempt: int
    # what the peer answered to the first message of this incident to this destination (a Slack
    # root message's channel and ts), for messages that thread under or update it
    thread: dict[str, Any] | None = None


class TemporaryFailure(Exception):
    """Try again later; ``retry_after`` is the peer's own request (e.g. HTTP Retry-After).

    By default the destination is at fault (down, rate limited), so everything queued for it
    waits with this message and leaves in order once it answers again. ``message_only``: only
    this message must wait (a Slack reply whose root message is not posted yet)."""

    def __init__(
        self, reason: str, retry_after: timedelta | None = None, *, message_only: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.message_only = message_only


class PermanentFailure(Exception):
    """Retrying cannot help (bad request, unknown destination): dead-letter it now."""


class Sender(Protocol):
    def send(self, message: Outgoing) -> dict[str, Any] | None:
        """Deliver, or raise TemporaryFailure / PermanentFailure; return what the peer said."""
        ...


class ConsoleSender:
    """The channel that needs no configuration: the outbox row itself is the record, shown
    on the console's Messages page; this only logs the delivery."""

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        log.info("to %s: %s", message.destination, message.subject)
        return None
