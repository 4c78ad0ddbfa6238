"""Email through an SMTP server: ``smtp://user:pass@host:587?starttls=1`` or ``smtps://…``.

One class serves both kinds of mail: notices to the team (``Auto-Submitted: auto-generated``,
a Message-ID derived from the idempotency key) and updates to customers, written by a person
and threaded into the customer's own conversation: the message's payload may carry its
``message_id`` (made and kept before sending, so that the customer's answer is found again),
``headers`` (``In-Reply-To``, ``References``) and an ``html`` alternative.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure

THREAD_HEADERS = ("In-Reply-To", "References")


class SmtpSender:
    per_minute = None

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        timeout: int = 15,
        reply_to: str | None = None,
        automatic: bool = True,
    ) -> None:
        """``sender`` is the From; ``reply_to`` where answers should go, if elsewhere;
        ``automatic`` marks every message ``Auto-Submitted`` (not so for customer updates,
        which a person wrote and the customer should answer)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps"):
            raise ValueError("ESCALATOR_SMTP_URL must start with smtp:// or smtps://")
        self.ssl = parsed.scheme == "smtps"
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (465 if self.ssl else 25)
        self.user = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.starttls = parse_qs(parsed.query).get("starttls", ["0"])[0] in ("1", "true")
        self.sender = sender
        self.timeout = timeout
        self.reply_to = reply_to
        self.automatic = automatic

    def compose(self, message: Outgoing) -> EmailMessage:
        payload = message.payload
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.destination
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        given = str(payload.get("message_id") or "")
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        mail["Message-ID"] = given or f"<{digest}@escalator>"
        given_headers = payload.get("headers")
        headers: dict[str, Any] = given_headers if isinstance(given_headers, dict) else {}
        for name in THREAD_HEADERS:
            if headers.get(name):
                mail[name] = str(headers[name])
        if self.reply_to:
            mail["Reply-To"] = self.reply_to
        if self.automatic:
            mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body or message.subject)
        if payload.get("html"):
            mail.add_alternative(str(payload["html"]), subtype="html")
        return mail

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        mail = self.compose(message)
        smtp_class = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        try:
            with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"smtp {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
            raise TemporaryFailure(f"smtp {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{code} {_text(text)}" for code, text in exc.recipients.values())
            if all(code < 500 for code, _ in exc.recipients.values()):
                raise TemporaryFailure(f"smtp deferred {message.destination}: {reasons}") from exc
            raise PermanentFailure(f"smtp refused {message.destination}: {reasons}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"smtp unreachable: {exc}") from exc
        return {"message_id": mail["Message-ID"]}


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
