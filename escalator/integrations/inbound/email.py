"""Customer email: MIME parsed into text, threading headers and attachments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from escalator.integrations.inbound.common import PayloadError, clip

_MSGID = re.compile(r"<([^<>\s]+)>")
_WRITTEN = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Attached:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundEmail:
    message_id: str
    references: tuple[str, ...]  # In-Reply-To first, then References, newest first
    sender: str
    sender_name: str
    to: tuple[str, ...]
    subject: str
    text: str
    attachments: tuple[Attached, ...] = field(default_factory=tuple)
    automatic: bool = False  # Auto-Submitted or a bulk/auto-reply: never opens an incident
    # the threading headers as written (brackets and case kept), for replies that thread
    header_message_id: str = ""
    header_references: tuple[str, ...] = ()  # oldest first
    header_in_reply_to: tuple[str, ...] = ()


def _ids(value: str | None) -> list[str]:
    return [m.lower() for m in _MSGID.findall(value or "")]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


def parse_email(raw: bytes) -> InboundEmail:
    try:
        mail = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the email package raises many kinds on broken input
        raise PayloadError("message", f"not a readable email: {exc}") from exc
    assert isinstance(mail, EmailMessage)
    try:
        name, sender = parseaddr(str(mail.get("From", "")))
        subject = str(mail.get("Subject", "")).strip()
        message_id = (_ids(str(mail.get("Message-ID", ""))) or [""])[0]
        refs = _ids(str(mail.get("In-Reply-To", ""))) + list(
            reversed(_ids(str(mail.get("References", ""))))
        )
        written = {
            name: tuple(_WRITTEN.findall(str(mail.get(name, ""))))
            for name in ("Message-ID", "References", "In-Reply-To")
        }
        to = tuple(addr for _, addr in getaddresses([str(v) for v in mail.get_all("To", [])]))
    except Exception as exc:
        raise PayloadError("headers", f"unreadable header: {exc}") from exc
    if not sender or "@" not in sender:
        raise PayloadError("From", "the email has no sender address")
    auto = str(mail.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(mail.get("Precedence", "")).strip().lower()
    text = ""
    body = mail.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = body.get_content()
        text = html_to_text(content) if body.get_content_type() == "text/html" else content
    attachments = []
    for part in mail.iter_attachments():
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            filename = part.get_filename() or f"attachment-{len(attachments) + 1}"
            attachments.append(Attached(clip(filename, 300), part.get_content_type(), data))
    return InboundEmail(
        message_id=message_id,
        references=tuple(dict.fromkeys(refs)),
        sender=sender.lower(),
        sender_name=name,
        to=to,
        subject=clip(subject or "(no subject)", 500),
        text=text.strip(),
        attachments=tuple(attachments),
        automatic=auto not in ("", "no") or precedence in ("bulk", "junk", "auto_reply"),
        header_message_id=(written["Message-ID"] or ("",))[0],
        header_references=written["References"],
        header_in_reply_to=written["In-Reply-To"],
    )
