"""Shared helpers for the inbound parsers: time formats, label maps, errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class PayloadError(ValueError):
    """The payload as a whole cannot be used; ``field`` says where (for a 422 problem body)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


_FRACTION = re.compile(r"\.(\d+)")
_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 (nanoseconds allowed), ``Z`` or ``+0000`` offsets; Go's zero time is None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp string, got {type(value).__name__}")
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    text = _OFFSET_NO_COLON.sub(r"\1:\2", text)
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def string_map(value: Any, what: str) -> dict[str, str]:
    """A JSON object of strings (numbers and booleans are written as text)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object of strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            out[str(key)] = item
        elif isinstance(item, bool | int | float):
            out[str(key)] = str(item)
        elif item is not None:
            raise ValueError(f"{what}.{key} must be a string")
    return out


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
