"""Durations as people write them in a process file: ``90s``, ``30m``, ``4h``, ``1d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"^(?:\d+[wdhms])+$")

HINT = "write a whole number and a unit (s, m, h, d or w), like 90s, 30m, 4h, 1d or 1h30m"


class DurationError(ValueError):
    """A duration that cannot be read; the message says what to write instead."""


def parse_duration(text: str) -> timedelta:
    """Read ``text`` as a duration; units must go from largest to smallest, each once."""
    if not isinstance(text, str):
        raise DurationError(f"expected a duration, got {text!r}: {HINT}")
    compact = text.strip().lower()
    if not _WHOLE.match(compact):
        raise DurationError(f"{text!r} is not a duration: {HINT}")
    seconds = 0
    last_rank = -1
    order = list(_UNITS)
    for number, unit in _PART.findall(compact):
        rank = order.index(unit)
        if rank <= last_rank:
            raise DurationError(f"{text!r} repeats or misorders its units: {HINT}")
        last_rank = rank
        seconds += int(number) * _UNITS[unit]
    if seconds <= 0:
        raise DurationError(f"{text!r} is zero: a clock needs a positive duration")
    try:
        return timedelta(seconds=seconds)
    except OverflowError as exc:
        raise DurationError(f"{text!r} is longer than any clock can run: {HINT}") from exc


def format_duration(value: timedelta) -> str:
    """The shortest text that :func:`parse_duration` reads back as ``value`` (whole seconds)."""
    seconds = int(value.total_seconds())
    if seconds <= 0 or seconds != value.total_seconds():
        raise DurationError(f"{value!r} is not a positive whole number of seconds")
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w" and seconds % size:
            continue  # prefer 10d over 1w3d
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
