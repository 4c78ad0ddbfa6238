"""Email through an SMTP server: ``smtp://user:pass@host:587?starttls=1`` or ``smtps://…``."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure


class SmtpSender:
    per_minute = None

    def __init__(self, url: str, *, sender: str, timeout: int = 15) -> None:
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

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.destination
        mail["Subject"] = message.subject
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@escalator>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body or message.subject)
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
                raise PermanentFailure(f"smtp {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise TemporaryFailure(f"smtp {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"smtp refused {message.destination}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"smtp unreachable: {exc}") from exc
        return {"message_id": mail["Message-ID"]}
