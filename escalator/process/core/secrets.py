"""Secrets handed out once (API tokens, intake secrets) and kept only as a SHA-256 digest.

They are 256 random bits, so a plain SHA-256 is enough to store them safely: there is no
password to guess.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewSecret:
    value: str  # shown once, never stored
    digest: str
    shown_prefix: str  # enough to tell secrets apart in a list


def new_secret(prefix: str) -> NewSecret:
    value = prefix + secrets.token_urlsafe(32)
    return NewSecret(value, digest(value), value[: len(prefix) + 6])
