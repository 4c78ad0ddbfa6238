"""Replies that thread in the customer's mail client (RFC 5322 §3.6.4 and §3.6.5).

A thread is remembered by its newest message (the parent of the next reply) and that
message's own references. A reply's ``In-Reply-To`` is the parent's Message-ID and its
``References`` the parent's references followed by the parent's id; ids keep their angle
brackets and their case. The subject gets one "Re: ", never two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_ID = re.compile(r"<[^<>\s]+>")
_RE = re.compile(r"^\s*re\s*:\s*", re.IGNORECASE)
KEEP = 20  # references kept: the thread's first message and the newest ones


def message_ids(value: str | None) -> tuple[str, ...]:
    """The ``<…>`` ids of a header (In-Reply-To and References are unstructured text)."""
    return tuple(_ID.findall(value or ""))


def reply_subject(subject: str) -> str:
    """``Re: `` and the subject as the customer wrote it, with one ``Re:`` at most."""
    text = " ".join(subject.split())
    while _RE.match(text):
        text = _RE.sub("", text, count=1)
    return f"Re: {text}" if text else "Re:"


def _trim(ids: tuple[str, ...]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(ids))
    if len(unique) <= KEEP:
        return unique
    return (unique[0], *unique[-(KEEP - 1) :])


@dataclass(frozen=True)
class Thread:
    subject: str
    parent: str = ""  # the newest message's Message-ID, brackets included; "" for none yet
    references: tuple[str, ...] = ()  # the newest message's own References

    @classmethod
    def of_message(
        cls,
        subject: str,
        message_id: str,
        references: tuple[str, ...] = (),
        in_reply_to: tuple[str, ...] = (),
    ) -> Thread:
        """The thread as the message with these headers leaves it. A message without
        References but answering exactly one message is taken to reference that one."""
        refs = references or (in_reply_to if len(in_reply_to) == 1 else ())
        return cls(subject, message_id.strip(), _trim(refs))

    def reply_headers(self) -> dict[str, str]:
        """``In-Reply-To`` and ``References`` of a reply to the newest message (none when the
        thread has no message yet: the reply starts it)."""
        if not self.parent:
            return {}
        return {
            "In-Reply-To": self.parent,
            "References": " ".join(_trim((*self.references, self.parent))),
        }

    def after_reply(self, message_id: str) -> Thread:
        """The thread once our reply with ``message_id`` is its newest message."""
        refs = (*self.references, self.parent) if self.parent else self.references
        return replace(self, parent=message_id.strip(), references=_trim(refs))

    def as_dict(self) -> dict[str, object]:
        return {"subject": self.subject, "parent": self.parent, "references": list(self.references)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Thread:
        refs = data.get("references") or []
        return cls(
            str(data.get("subject", "")),
            str(data.get("parent", "")),
            tuple(str(r) for r in refs) if isinstance(refs, list) else (),
        )
