"""Outside text that tries to be markup: an alarm title and a customer's email subject."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any, Protocol

from escalator.app import Services
from escalator.integrations.inbound.email import parse_email
from escalator.process.alert import customer
from escalator.process.core import integrations

ALARM_TITLE = "<img src=x onerror=alert(1)>"
EMAIL_SUBJECT = '<script>alert("subject")</script> Refund <b>now</b>'
EMAIL_BODY = "Hello <iframe src=//evil.example></iframe> & thanks"


def hostile_email() -> bytes:
    mail = EmailMessage()
    mail["From"] = '"<svg onload=alert(2)>" <mallory@evil.example>'
    mail["To"] = "support@monsoon.example"
    mail["Subject"] = EMAIL_SUBJECT
    mail["Message-ID"] = "<hostile-1@evil.example>"
    mail.set_content(EMAIL_BODY)
    return bytes(mail)


class Poster(Protocol):
    def post(self, url: str, **kwargs: Any) -> Any: ...


def open_hostile_incidents(svc: Services, client: Poster) -> None:
    """INC-1 from an alarm posted to generic intake, INC-2 from an email; both carry markup."""
    with svc.unit_of_work("dinesh") as ctx:
        _, secret = integrations.create(ctx, kind="generic", name="hostile")
    posted = client.post(
        "/api/v1/intake/generic",
        json={"title": ALARM_TITLE, "service": "<i>quotes</i>", "fingerprint": "x"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert posted.status_code == 202, posted.text
    svc.worker().run_once()
    with svc.unit_of_work("email:mallory@evil.example") as ctx:
        customer.receive_email(ctx, parse_email(hostile_email()), max_attachment_bytes=1 << 20)
    svc.worker().run_once()
