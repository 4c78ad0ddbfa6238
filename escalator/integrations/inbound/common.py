"""Shared helpers for the inbound parsers: JSON, time formats, label maps, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from escalator.domain.text import clean, first_flaw

MAX_JSON_DEPTH = 64
DEPTH_HINT = f"the JSON is nested too deeply: keep it within {MAX_JSON_DEPTH} levels"


class PayloadError(ValueError):
    """The payload as a whole cannot be used; ``field`` says where (for a 422 problem body)."""

    def __init__(self, field: str, reason: str) -> None:
        field, reason = clean(field), clean(reason)  # they may quote the payload
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class JsonError(ValueError):
    """Bytes that are not a JSON document we read; the message says what is wrong."""


def load_json(raw: bytes | str) -> Any:
    """Parse JSON no deeper than :data:`MAX_JSON_DEPTH`, or raise :class:`JsonError`."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JsonError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise JsonError("the body is not UTF-8 text") from exc
    except RecursionError as exc:
        raise JsonError(DEPTH_HINT) from exc
    except ValueError as exc:  # Python reads no integer of more than 4,300 digits
        raise JsonError("malformed JSON: a number has too many digits") from exc
    if deeper_than(value, MAX_JSON_DEPTH):
        raise JsonError(DEPTH_HINT)
    return value


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value`` (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item)
            )
    return False


def refuse_unstorable(value: Any) -> None:
    """ValueError naming the first text nested in ``value`` that cannot be stored."""
    found = first_flaw(value)
    if found:
        raise ValueError(f"{found[0]}: {found[1]}" if found[0] else found[1])


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
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{value!r} is out of range once in UTC") from exc


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
