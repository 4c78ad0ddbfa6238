"""Outgoing email through ESCALATOR_SMTP_URL, received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from escalator.app import Services
from escalator.process.alert import opening
from tests.e2e.live import free_port
from tests.fakes import FakeClock


class Inbox:
    def __init__(self) -> None:
        self.mail: list[tuple[str, list[str], bytes]] = []
        self.refuse = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try later"
        self.mail.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_people_are_emailed_and_a_refusal_is_retried(
    make_services: Callable[..., Services],
    database_url: str,
    inbox: tuple[Inbox, int],
    clock: FakeClock,
) -> None:
    box, port = inbox
    svc = make_services(
        database_url, smtp_url=f"smtp://127.0.0.1:{port}", email_from="escalator@monsoon.example"
    )
    box.refuse = 1
    with svc.unit_of_work("noah") as ctx:
        opening.report(ctx, title="Invoice totals off by one cent")
    worker = svc.worker()
    worker.run_once()
    assert len(box.mail) == 1, "one of the two was refused with a 4xx and waits"
    clock.advance(timedelta(seconds=5))
    worker.run_once()
    assert sorted(to for _, [to], _ in box.mail) == ["dinesh@example.com", "santhosh@example.com"]
    mail = message_from_bytes(box.mail[0][2], policy=policy.default)
    assert mail["From"] == "escalator@monsoon.example"
    assert mail["Subject"] == "[INC-1] New customer incident: Invoice totals off by one cent"
    assert mail["Auto-Submitted"] == "auto-generated", "so that auto-replies do not loop back"
