"""A real SMTP server (aiosmtpd) that keeps what it receives, parsed, and can be told to
refuse mail to an address: ``later`` answers 451 (try again), ``refuse`` 550 (never)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.e2e.live import free_port


class MailCatcher:
    def __init__(self) -> None:
        self.mail: list[EmailMessage] = []
        self.later: dict[str, int] = {}  # address -> how many of its mails to defer
        self.refuse: dict[str, int] = {}  # address -> how many of its mails to refuse
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        to = list(envelope.rcpt_tos)  # type: ignore[attr-defined]
        for faults, answer in (
            (self.later, "451 4.3.0 mailbox busy, try later"),
            (self.refuse, "550 5.1.1 no such mailbox here"),
        ):
            hit = next((a for a in to if faults.get(a)), None)
            if hit is not None:
                faults[hit] -= 1
                return answer
        raw: bytes = envelope.content  # type: ignore[attr-defined]
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mail.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mail if address in str(m["To"])]

    def close(self) -> None:
        self._controller.stop()
