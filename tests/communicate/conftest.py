"""COMMUNICATE's fixtures: Escalator with outgoing email to a real SMTP server (aiosmtpd)
and a fake Discourse, and a customer writing in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest

from escalator.app import Services
from escalator.integrations.inbound.email import parse_email
from escalator.process.alert import customer
from tests.fakes.discourse import API_KEY, USERNAME, FakeDiscourse
from tests.fakes.smtp import MailCatcher

SUPPORT = "Monsoon Support <support@monsoon.example>"


@pytest.fixture
def mailer() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    yield catcher
    catcher.close()


@pytest.fixture
def discourse() -> Iterator[FakeDiscourse]:
    fake = FakeDiscourse()
    yield fake
    fake.close()


@pytest.fixture
def talking(
    make_services: Callable[..., Services],
    database_url: str,
    mailer: MailCatcher,
    discourse: FakeDiscourse,
) -> Services:
    """Escalator that can email customers and post to Discourse."""
    return make_services(
        database_url,
        smtp_url=mailer.url,
        email_from="escalator@monsoon.example",
        support_email=SUPPORT,
        discourse_url=discourse.url,
        discourse_api_key=API_KEY,
        discourse_api_username=USERNAME,
    )


def customer_mail(
    subject: str,
    body: str,
    *,
    msgid: str,
    sender: str = "Bob Buyer <bob@acme.com>",
    replying_to: EmailMessage | None = None,
) -> EmailMessage:
    """An email from a customer; ``replying_to`` threads it as a mail client would."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@monsoon.example"
    mail["Subject"] = subject
    mail["Message-ID"] = msgid
    if replying_to is not None:
        parent = str(replying_to["Message-ID"]).strip()
        refs = str(replying_to.get("References", "")).split()
        mail["In-Reply-To"] = parent
        mail["References"] = " ".join([*refs, parent])
    mail.set_content(body)
    return mail


def receive(svc: Services, mail: EmailMessage) -> str:
    """The customer's email as the inbound listener hands it over; the incident's key."""
    with svc.unit_of_work("email:customer") as ctx:
        incident = customer.receive_email(
            ctx, parse_email(mail.as_bytes()), max_attachment_bytes=10**6
        )
        assert incident is not None
        return incident.key
