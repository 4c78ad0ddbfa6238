"""Updates by email, end to end over real SMTP: the customer writes to the inbound listener,
second tier answers through the API, the update leaves through a real SMTP server (aiosmtpd)
as a reply in the customer's thread, and the customer's answer to it lands on the incident."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import messages, queries
from escalator.store.models import Contact, OutboxMessage
from tests.communicate.conftest import SUPPORT, customer_mail
from tests.e2e.live import free_port
from tests.fakes.smtp import MailCatcher

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def mail_svc(
    make_services: Callable[..., Services], database_url: str, mailer: MailCatcher
) -> Services:
    return make_services(
        database_url,
        inbound_smtp_port=free_port(),
        smtp_url=mailer.url,
        support_email=SUPPORT,
        support_reply_to="help@monsoon.example",
    )


@pytest.fixture
def api(mail_svc: Services) -> Iterator[TestClient]:
    with TestClient(create_app(mail_svc, run_worker=False)) as client:  # starts the listener
        yield client


def write_in(svc: Services, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", svc.settings.inbound_smtp_port, timeout=10) as smtp:
        smtp.send_message(mail)


def test_an_update_replies_in_the_customers_thread_and_their_answer_threads_back(
    mail_svc: Services, api: TestClient, auth: Auth, mailer: MailCatcher
) -> None:
    first = customer_mail(
        "Prices show $0", "Every product shows $0.", msgid="<CAHk1aB3qP0s@mail.acme.com>"
    )
    write_in(mail_svc, first)
    again = customer_mail(
        "Re: Prices show $0",
        "Still broken.",
        msgid="<CAHk9zZ7xQ2m@mail.acme.com>",
        replying_to=first,
    )
    write_in(mail_svc, again)

    noah = auth("noah")
    sent = api.post(
        "/api/v1/incidents/INC-1/updates",
        json={"text": "We found the cause <script>x</script> & are fixing it.", "next": "1h"},
        headers=noah,
    )
    assert sent.status_code == 201, sent.text
    assert [(e["state"], e["kind"]) for e in sent.json()] == [("pending", "update")]
    mail_svc.worker().run_once()

    [update] = mailer.to("bob@acme.com")
    assert update["In-Reply-To"] == "<CAHk9zZ7xQ2m@mail.acme.com>"
    assert update["References"].split() == [
        "<CAHk1aB3qP0s@mail.acme.com>",
        "<CAHk9zZ7xQ2m@mail.acme.com>",
    ]
    assert update["Subject"] == "Re: Prices show $0", "one Re:, the customer's own subject"
    assert update["From"] == SUPPORT and update["Reply-To"] == "help@monsoon.example"
    assert update["Auto-Submitted"] is None, "a person wrote it, and the customer should answer"
    assert str(update["Message-ID"]).strip().endswith("@monsoon.example>")
    text = update.get_body(("plain",)).get_content()
    html = update.get_body(("html",)).get_content()
    assert "<script>x</script> & are fixing it." in text, "plain text is not escaped"
    assert "&lt;script&gt;x&lt;/script&gt; &amp; are fixing it." in html and "<script>" not in html

    answer = customer_mail(
        "Re: Prices show $0",
        "Thanks, it works now.",
        msgid="<CAHk0ok@mail.acme.com>",
        replying_to=update,
    )
    write_in(mail_svc, answer)
    with mail_svc.db.read() as s:
        assert queries.list_incidents(s).total == 1, "the answer threads back onto INC-1"
    panel = api.get("/api/v1/incidents/INC-1/customers", headers=noah).json()
    [bob] = panel["contacts"]
    assert bob["unread"] == 2  # both of his mails since the report
    assert [(e["direction"], e["state"]) for e in bob["ledger"]] == [
        ("in", "received"),
        ("in", "unread"),
        ("out", "sent"),
        ("in", "unread"),
    ]
    assert bob["ledger"][-1]["body"].startswith("Thanks, it works now.")
    assert api.post("/api/v1/incidents/INC-1/updates/read", headers=noah).json() == {"read": 2}

    api.post(
        "/api/v1/incidents/INC-1/updates",
        json={"text": "Confirmed fixed on our side too.", "next": "4h"},
        headers=noah,
    )
    mail_svc.worker().run_once()
    second = mailer.to("bob@acme.com")[-1]
    assert second["In-Reply-To"] == "<CAHk0ok@mail.acme.com>"
    assert second["References"].split() == [
        "<CAHk1aB3qP0s@mail.acme.com>",
        "<CAHk9zZ7xQ2m@mail.acme.com>",
        str(update["Message-ID"]).strip(),
        "<CAHk0ok@mail.acme.com>",
    ]


def test_an_smtp_refusal_shows_as_failed_and_nothing_counts_as_told_until_sent(
    mail_svc: Services, api: TestClient, auth: Auth, mailer: MailCatcher
) -> None:
    write_in(
        mail_svc, customer_mail("Invoices missing", "No invoices today.", msgid="<i1@acme.com>")
    )
    mailer.refuse["bob@acme.com"] = 1
    noah = auth("noah")
    api.post(
        "/api/v1/incidents/INC-1/updates",
        json={"text": "Looking into it now.", "next": "30m"},
        headers=noah,
    )
    mail_svc.worker().run_once()
    [bob] = api.get("/api/v1/incidents/INC-1/customers", headers=noah).json()["contacts"]
    update = bob["ledger"][-1]
    assert update["state"] == "failed"
    assert update["error"].startswith("smtp 550: 5.1.1 no such mailbox here")
    assert bob["last_told_at"] is None and bob["promised_at"] is None

    with mail_svc.unit_of_work("noah") as ctx:  # fixed: retried from the Messages page
        dead = ctx.session.scalars(select(OutboxMessage).where(OutboxMessage.state == "dead")).one()
        messages.retry(ctx, dead.id)
    mail_svc.worker().run_once()
    [bob] = api.get("/api/v1/incidents/INC-1/customers", headers=noah).json()["contacts"]
    assert bob["ledger"][-1]["state"] == "sent" and bob["last_told_at"] is not None
    with mail_svc.db.read() as s:
        contact = s.scalars(select(Contact)).one()
        assert contact.promised_at is not None
