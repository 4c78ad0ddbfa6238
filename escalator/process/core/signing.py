"""Signed links: acknowledge a page from a message, subscribe to a calendar feed.

A link carries what it grants and an HMAC-SHA256 of that under a key only the server knows,
so it needs no database row and cannot be altered or guessed. The key comes from
ESCALATOR_SECRET_KEY, or is made once and kept in the database for every process to share.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select

from escalator.process.core.errors import NotFound, possible_id
from escalator.store.db import Database
from escalator.store.models import SigningKey
from escalator.store.upsert import dialect_insert

KEY_NAME = "links"
_ID = re.compile(r"^[0-9]{1,18}$")  # a page id: ASCII digits, below 2^63


def stored_key(db: Database, now: datetime) -> bytes:
    """The database's signing key, made on first use (several processes agree on one)."""
    with db.write() as session:
        stmt = dialect_insert(session, SigningKey.__table__).values(
            name=KEY_NAME, value=secrets.token_hex(32), created_at=now
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        value = session.scalar(select(SigningKey.value).where(SigningKey.name == KEY_NAME))
    return bytes.fromhex(str(value))


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison that any text may take (``compare_digest`` refuses non-ASCII
    strings, and a link is whatever someone typed)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def sign(key: bytes, purpose: str, value: str) -> str:
    mac = hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def ack_token(key: bytes, page_id: int, person: str) -> str:
    return f"{page_id}.{person}.{sign(key, 'ack', f'{page_id}:{person}')}"


def read_ack_token(key: bytes, token: str) -> tuple[int, str]:
    """The page and person an acknowledgement link names; NotFound if it was tampered with."""
    page, _, rest = token.partition(".")
    person, _, mac = rest.rpartition(".")
    if not (_ID.match(page) and person and key) or not _same(
        mac, sign(key, "ack", f"{page}:{person}")
    ):
        raise NotFound("this acknowledgement link is not valid: use the newest message's link")
    return possible_id(int(page), "this acknowledgement link names no page"), person


def feed_token(key: bytes, kind: str, name: str) -> str:
    return sign(key, f"feed:{kind}", name)


def check_feed_token(key: bytes, kind: str, name: str, token: str) -> None:
    if not key or not _same(token, feed_token(key, kind, name)):
        raise NotFound(f"no calendar feed for {kind} {name!r} at this link")
