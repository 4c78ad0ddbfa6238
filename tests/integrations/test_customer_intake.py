"""Customer reports: email through the built-in SMTP listener (replies thread onto the same
incident, attachments kept) and the support forum (Discourse webhooks and the generic form)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import integrations, queries
from escalator.store.models import Attachment
from tests.e2e.live import free_port
from tests.fakes.slack import TOKEN, FakeSlack


@pytest.fixture
def mail_svc(
    make_services: Callable[..., Services], database_url: str, slack: FakeSlack
) -> Services:
    return make_services(
        database_url,
        inbound_smtp_port=free_port(),
        slack_bot_token=TOKEN,
        slack_api_url=slack.base_url,
    )


@pytest.fixture
def mail_app(mail_svc: Services) -> Iterator[TestClient]:
    with TestClient(create_app(mail_svc, run_worker=False)) as client:
        yield client


def send(svc: Services, mail: EmailMessage) -> None:
    with smtplib.SMTP(
        svc.settings.inbound_smtp_host, svc.settings.inbound_smtp_port, timeout=10
    ) as smtp:
        smtp.send_message(mail)


def email(subject: str, body: str, *, msgid: str, reply_to: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Bob Buyer <bob@acme.com>"
    mail["To"] = "support@monsoon.example"
    mail["Subject"] = subject
    mail["Message-ID"] = msgid
    if reply_to:
        mail["In-Reply-To"] = reply_to
        mail["References"] = reply_to
    mail.set_content(body)
    return mail


def test_an_email_opens_an_incident_and_its_reply_lands_on_it(
    mail_svc: Services, mail_app: TestClient, slack: FakeSlack
) -> None:
    first = email(
        "Prices show $0 on our storefront",
        "Since 9am every product shows $0.",
        msgid="<m1@acme.com>",
    )
    first.add_alternative("<p>Since 9am every product shows <b>$0</b>.</p>", subtype="html")
    first.add_attachment(
        b"GET /price 500\n", maintype="text", subtype="plain", filename="storefront.log"
    )
    send(mail_svc, first)
    with mail_svc.db.read() as s:
        [incident] = queries.list_incidents(s).items
        assert (incident.source, incident.channel, incident.title) == (
            "customer",
            "email",
            "Prices show $0 on our storefront",
        )
        assert incident.details["account"] == "acme" and incident.details["account_tier"] == "key"
        assert incident.details["from"] == "bob@acme.com"
        assert "every product shows $0" in incident.description
        [attachment] = s.scalars(select(Attachment)).all()
        assert (attachment.filename, attachment.content_type, attachment.size) == (
            "storefront.log",
            "text/plain",
            15,
        )
        assert attachment.sha256 == hashlib.sha256(b"GET /price 500\n").hexdigest()

    send(
        mail_svc,
        email(
            "Re: Prices show $0",
            "Still broken. Losing sales.",
            msgid="<m2@acme.com>",
            reply_to="<m1@acme.com>",
        ),
    )
    send(
        mail_svc,
        email(
            "Re: Re: Prices show $0", "Any news?", msgid="<m3@acme.com>", reply_to="<m2@acme.com>"
        ),
    )
    auto = email("Out of office", "I am away", msgid="<m4@acme.com>")
    auto["Auto-Submitted"] = "auto-replied"
    send(mail_svc, auto)
    with mail_svc.db.read() as s:
        [incident] = queries.list_incidents(s).items
        notes = [e.note for e in queries.timeline(s, incident) if e.kind == "customer_email"]
    assert len(notes) == 2 and "Losing sales" in notes[0] and "Any news?" in notes[1]

    mail_svc.worker().run_once()
    [root] = slack.roots("#support")
    facts = json.dumps(root.blocks)
    assert "bob@acme.com" in facts and "ACME Corp" in facts and "storefront.log" in facts
    assert [m.text for m in slack.thread(root)][-1].startswith(":email: bob@acme.com replied")


def test_a_broken_email_is_refused_with_a_reason(mail_svc: Services, mail_app: TestClient) -> None:
    with (
        pytest.raises(smtplib.SMTPDataError) as err,
        smtplib.SMTP(
            mail_svc.settings.inbound_smtp_host, mail_svc.settings.inbound_smtp_port, timeout=10
        ) as smtp,
    ):
        smtp.sendmail("x@y.z", ["support@monsoon.example"], b"Subject: no sender\r\n\r\nhello")
    assert err.value.smtp_code == 550 and b"no sender" in err.value.smtp_error
    with mail_svc.db.read() as s:
        assert queries.list_incidents(s).total == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nPrices are \xe9 wrong\r\n",
        b"Message-ID: <@acme.com>\r\nContent-Type: text/plain\r\n\r\nPrices are \xe9 wrong\r\n",
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nPrices are \xe9 wrong\x00\r\n",
    ],
)
def test_an_email_in_an_unknown_charset_or_with_a_broken_header_is_kept(
    mail_svc: Services, mail_app: TestClient, raw: bytes
) -> None:
    headers = (
        b"From: Bob Buyer <bob@acme.com>\r\nTo: support@monsoon.example\r\nSubject: Prices\r\n"
    )
    with smtplib.SMTP(
        mail_svc.settings.inbound_smtp_host, mail_svc.settings.inbound_smtp_port, timeout=10
    ) as smtp:
        assert smtp.sendmail("bob@acme.com", ["support@monsoon.example"], headers + raw) == {}
    with mail_svc.db.read() as s:
        [incident] = queries.list_incidents(s).items
    assert (incident.title, incident.description) == ("Prices", "Prices are \ufffd wrong")


def discourse(
    client: TestClient, secret: str, event: str, body: dict, *, key: str | None = None
) -> object:
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Discourse-Event": event,
        "X-Discourse-Instance": "https://forum.monsoon.example",
    }
    if key:
        headers["X-Discourse-Event-Signature"] = (
            "sha256=" + hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
        )
    return client.post(f"/api/v1/intake/forum?token={secret}", content=raw, headers=headers)


TOPIC = {
    "topic": {
        "id": 4711,
        "title": "Bulk price import fails",
        "slug": "bulk-price-import-fails",
        "created_by": {"id": 9, "username": "acme_ops"},
    }
}
FIRST = {
    "post": {
        "id": 1,
        "topic_id": 4711,
        "post_number": 1,
        "username": "acme_ops",
        "topic_title": "Bulk price import fails",
        "topic_slug": "bulk-price-import-fails",
        "raw": "The CSV import stops at row 1000.",
    }
}
REPLY = {"post": {**FIRST["post"], "id": 2, "post_number": 2, "raw": "Still failing today."}}


def test_discourse_topics_open_incidents_and_posts_follow(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str]
) -> None:
    secret = integration("forum")
    assert discourse(wired_client, secret, "topic_created", TOPIC).json() == {"incident": "INC-1"}
    assert discourse(wired_client, secret, "post_created", FIRST).status_code == 202
    assert discourse(wired_client, secret, "post_created", REPLY).json() == {"incident": "INC-1"}
    assert discourse(wired_client, secret, "ping", {"ping": "OK"}).json() == {"ignored": "ping"}
    with wired.db.read() as s:
        [incident] = queries.list_incidents(s).items
        assert incident.channel == "forum" and incident.details["account"] == "acme"
        assert incident.description == "The CSV import stops at row 1000."
        assert (
            incident.details["url"]
            == "https://forum.monsoon.example/t/bulk-price-import-fails/4711"
        )
        posts = [e.note for e in queries.timeline(s, incident) if e.kind == "customer_post"]
    assert posts == ["acme_ops: Still failing today."]


def test_discourse_signatures_are_checked_when_a_secret_is_set(
    make_services: Callable[..., Services], database_url: str, integration: Callable[[str], str]
) -> None:
    svc = make_services(database_url, discourse_webhook_secret="s3cret")
    with TestClient(create_app(svc, run_worker=False)) as client:
        with svc.unit_of_work("dinesh") as ctx:
            secret = integrations.create(ctx, kind="forum", name="discourse")[1]
        assert discourse(client, secret, "topic_created", TOPIC).status_code == 403
        assert discourse(client, secret, "topic_created", TOPIC, key="wrong").status_code == 403
        assert discourse(client, secret, "topic_created", TOPIC, key="s3cret").status_code == 202


def test_the_generic_forum_form(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str]
) -> None:
    secret = integration("forum")
    post = {
        "thread_id": "t-1",
        "title": "Discount rules ignored",
        "body": "Since the release.",
        "author": "zed",
        "account": "Globex",
    }
    assert wired_client.post(f"/api/v1/intake/forum?token={secret}", json=post).status_code == 202
    bad = wired_client.post(f"/api/v1/intake/forum?token={secret}", json={"title": "no thread"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "thread_id"
    with wired.db.read() as s:
        [incident] = queries.list_incidents(s).items
    assert (
        incident.details["account"] == "globex" and incident.details["account_tier"] == "standard"
    )


def test_the_same_email_delivered_twice_is_taken_once(
    mail_svc: Services, mail_app: TestClient
) -> None:
    mail = email("Coupon codes rejected", "Every code fails at checkout.", msgid="<dup@acme.com>")
    send(mail_svc, mail)
    send(mail_svc, mail)
    with mail_svc.db.read() as s:
        [incident] = queries.list_incidents(s).items
        kinds = [e.kind for e in queries.timeline(s, incident)]
    assert kinds.count("opened") == 1 and "customer_email" not in kinds
