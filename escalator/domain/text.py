"""Text that can be kept: what both databases store exactly as it was given.

PostgreSQL refuses NUL (U+0000) in text and JSON columns, and a lone surrogate (U+D800 to
U+DFFF, which a JSON ``\\ud800`` escape or an undecodable email header yields) has no UTF-8
form, so neither database can store it. The edges refuse such text, naming the field, or (for
email, which must be kept whatever it carries) clean it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def flaw(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored: remove it"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not text"


def first_flaw(value: object) -> tuple[str, str] | None:
    """The path (``labels.env``, ``links.0.href``; empty for ``value`` itself) and the reason
    of the first string, key or value, nested anywhere in ``value`` that cannot be stored."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            reason = flaw(item)
            if reason:
                return path, reason
        elif isinstance(item, Mapping):
            for key, inner in reversed(list(item.items())):
                inner_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and (reason := flaw(key)):
                    return inner_path.encode("utf-8", "replace").decode(), f"the key {reason}"
                stack.append((inner_path, inner))
        elif isinstance(item, list | tuple):
            for index in reversed(range(len(item))):
                stack.append((f"{path}.{index}" if path else str(index), item[index]))
    return None


def clean(text: str) -> str:
    """``text`` without NULs, each lone surrogate replaced by U+FFFD."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)
