"""Customer email: MIME parsed into text, threading headers and attachments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from escalator.domain.text import clean
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
    """Message-IDs, lower-cased and cut to what the database keeps of one (500 characters)."""
    return [clean(m.lower())[:500] for m in _MSGID.findall(value or "")]


def _headers(mail: EmailMessage, name: str) -> list[str]:
    """Every ``name`` header as text. A value the email package cannot parse (it raises on
    some malformed ones, e.g. ``Message-ID: <@host>``) is taken as it came."""
    try:
        return [str(value) for value in mail.get_all(name, [])]
    except Exception:
        return [str(value) for key, value in mail.raw_items() if key.lower() == name.lower()]


def _header(mail: EmailMessage, name: str) -> str:
    found = _headers(mail, name)
    return found[0] if found else ""


def _text(part: MIMEPart) -> str:
    """A text part as text. An unknown or wrong charset does not lose the email: its bytes are
    read as UTF-8 with U+FFFD for what cannot be read."""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        content = None
    if not isinstance(content, str):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return html_to_text(content) if part.get_content_type() == "text/html" else content


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
        name, sender = parseaddr(_header(mail, "From"))
        subject = _header(mail, "Subject").strip()
        message_id = (_ids(_header(mail, "Message-ID")) or [""])[0]
        refs = _ids(_header(mail, "In-Reply-To")) + list(
            reversed(_ids(_header(mail, "References")))
        )
        to = tuple(addr for _, addr in getaddresses(_headers(mail, "To")))
        written = {
            name: tuple(_WRITTEN.findall(clean(_header(mail, name))))
            for name in ("Message-ID", "References", "In-Reply-To")
        }
    except Exception as exc:
        raise PayloadError("headers", f"unreadable header: {exc}") from exc
    if not sender or "@" not in sender:
        raise PayloadError("From", "the email has no sender address")
    auto = (_header(mail, "Auto-Submitted") or "no").strip().lower()
    precedence = _header(mail, "Precedence").strip().lower()
    body = mail.get_body(preferencelist=("plain", "html"))
    text = "" if body is None else _text(body)
    attachments = []
    for part in mail.iter_attachments():
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            filename = clean(part.get_filename() or "") or f"attachment-{len(attachments) + 1}"
            kind = clip(clean(part.get_content_type()), 200)
            attachments.append(Attached(clip(filename, 300), kind, data))
    return InboundEmail(
        message_id=message_id,
        references=tuple(dict.fromkeys(refs)),
        sender=clean(sender.lower()),
        sender_name=clean(name),
        to=tuple(clean(address) for address in to),
        subject=clip(clean(subject) or "(no subject)", 500),
        text=clean(text).strip(),
        attachments=tuple(attachments),
        automatic=auto not in ("", "no") or precedence in ("bulk", "junk", "auto_reply"),
        header_message_id=(written["Message-ID"] or ("",))[0],
        header_references=written["References"],
        header_in_reply_to=written["In-Reply-To"],
    )
