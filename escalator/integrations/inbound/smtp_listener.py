"""A built-in SMTP listener (aiosmtpd) for customer email sent straight to Escalator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

from escalator.integrations.inbound.common import PayloadError
from escalator.integrations.inbound.email import InboundEmail, parse_email

log = logging.getLogger("escalator.smtp")

Deliver = Callable[[InboundEmail], None]


class _Handler:
    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        try:
            mail = parse_email(raw if isinstance(raw, bytes) else raw.encode())
        except PayloadError as exc:
            return f"550 5.6.0 {exc}"
        try:
            await asyncio.to_thread(self.deliver, mail)
        except Exception:
            log.exception("could not store inbound email from %s", mail.sender)
            return "451 4.3.0 could not store the message now; try again later"
        return "250 2.0.0 OK: taken"


class SmtpListener:
    def __init__(self, deliver: Deliver, *, host: str, port: int, max_bytes: int) -> None:
        self.controller = Controller(
            _Handler(deliver),
            hostname=host,
            port=port,
            data_size_limit=max_bytes,
            decode_data=False,
        )

    def start(self) -> None:
        self.controller.start()
        log.info("listening for email on %s:%s", self.controller.hostname, self.controller.port)

    def stop(self) -> None:
        self.controller.stop()
