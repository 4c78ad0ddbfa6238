"""The post mortem's rules: what a complete post-mortem holds, what an action item must say
for its kind, the moves of an item's state, and when its owner is reminded.

The seed's weekly review ends every incident with a root cause, what went well and what did
not, and what to change: new metrics, alarm thresholds up or down, new playbook entries,
documentation. Each change is an action item with an owner and a due date, chased until done.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_METRIC = "new_metric"
ALARM_THRESHOLD = "alarm_threshold"
PLAYBOOK_ENTRY = "playbook_entry"
DOCS_UPDATE = "docs_update"
OTHER = "other"
KINDS = (NEW_METRIC, ALARM_THRESHOLD, PLAYBOOK_ENTRY, DOCS_UPDATE, OTHER)
KIND_LABELS = {
    NEW_METRIC: "new metric",
    ALARM_THRESHOLD: "alarm threshold",
    PLAYBOOK_ENTRY: "playbook entry",
    DOCS_UPDATE: "documentation update",
    OTHER: "other",
}

OPEN = "open"
DONE = "done"
WONT_DO = "wont_do"
STATES = (OPEN, DONE, WONT_DO)

DETECTIONS = ("alarm", "customer")
DIRECTIONS = ("up", "down")

# the details each kind takes; the required ones first
DETAILS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    NEW_METRIC: ((), ("metric", "service")),
    ALARM_THRESHOLD: (("alarm", "direction"), ("from", "to")),
    PLAYBOOK_ENTRY: ((), ()),
    DOCS_UPDATE: ((), ("url",)),
    OTHER: ((), ()),
}

# the details in words, for what to fix
DETAIL_WORDS = {
    "alarm": "the alarm's name",
    "direction": "the direction the threshold moves (up or down)",
    "from": "the threshold it moves from",
    "to": "the threshold it moves to",
    "metric": "the metric's name",
    "service": "the service",
    "url": "the document's URL",
}

Problem = tuple[str, str]  # (field, what to fix)


@dataclass(frozen=True)
class ItemSpec:
    """An action item as someone asks for it."""

    kind: str
    title: str
    owner: str | None
    due_at: datetime | None
    details: Mapping[str, str] = field(default_factory=dict)


def _number(text: str) -> float | None:
    try:
        return float(text.strip().rstrip("%").replace(",", ""))
    except ValueError:
        return None


def item_problems(spec: ItemSpec, *, people: Collection[str], now: datetime) -> list[Problem]:
    """Everything wrong with ``spec``, each with the field and what to write instead."""
    problems: list[Problem] = []
    if spec.kind not in KINDS:
        problems.append(("kind", f"{spec.kind!r} is not a kind: one of {', '.join(KINDS)}"))
    if not spec.title.strip():
        problems.append(("title", "say what is to be done in a line"))
    if not spec.owner:
        problems.append(("owner", "every action item needs an owner: a person of the process"))
    elif spec.owner not in people:
        problems.append(("owner", f"{spec.owner!r} is not a person in the process file"))
    if spec.due_at is None:
        problems.append(("due", "every action item needs a due date, like 2026-12-04"))
    elif spec.due_at <= now:
        problems.append(("due", f"the due date {spec.due_at:%Y-%m-%d %H:%M} UTC has passed"))
    if spec.kind not in DETAILS:
        return problems
    required, optional = DETAILS[spec.kind]
    for name in spec.details:
        if name not in required + optional:
            known = ", ".join(required + optional) or "none"
            problems.append(
                (
                    f"details.{name}",
                    f"{KIND_LABELS[spec.kind]} items take no {name!r} (known: {known})",
                )
            )
    for name in required:
        if not str(spec.details.get(name, "")).strip():
            words = DETAIL_WORDS.get(name, name)
            problems.append((f"details.{name}", f"{KIND_LABELS[spec.kind]} items need {words}"))
    if spec.kind == ALARM_THRESHOLD:
        problems.extend(_threshold_problems(spec.details))
    return problems


def _threshold_problems(details: Mapping[str, str]) -> list[Problem]:
    direction = str(details.get("direction", "")).strip()
    if direction and direction not in DIRECTIONS:
        return [("details.direction", "up or down")]
    before, after = _number(str(details.get("from", ""))), _number(str(details.get("to", "")))
    if direction and before is not None and after is not None:
        if before == after:
            return [("details.to", "the new threshold equals the old one")]
        if (after > before) != (direction == "up"):
            moved = "up" if after > before else "down"
            return [
                (
                    "details.direction",
                    f"{details['from']} → {details['to']} goes {moved}, not {direction}",
                )
            ]
    return []


def state_problems(state: str, to: str, reason: str) -> list[Problem]:
    """Whether an item in ``state`` may move to ``to``: won't do needs its reason."""
    if to not in STATES:
        return [("state", f"{to!r} is not a state: one of {', '.join(STATES)}")]
    if to == WONT_DO and not reason.strip():
        return [("reason", "say why it won't be done")]
    if to == state and to != OPEN:
        return [("state", f"the item is {state} already")]
    return []


DUE_TIME = time(17, 0)  # a due date alone means the end of that working day


def parse_due(text: str, timezone: str = "UTC") -> datetime:
    """A due date as people write it: ``2026-12-04`` (17:00 that day in ``timezone``) or a
    date and time (``2026-12-04T09:00``, in ``timezone`` unless it has an offset); UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, DUE_TIME, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date: write it like 2026-12-04") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(timezone))
    return at.astimezone(UTC)


def next_reminder(
    due_at: datetime, after: datetime, *, before: timedelta, every: timedelta
) -> datetime:
    """The first reminder strictly after ``after``: ``before`` ahead of the due date, at the
    due date, then every ``every`` after it until the item is done."""
    for at in (due_at - before, due_at):
        if at > after:
            return at
    steps = (after - due_at) // every + 1
    return due_at + steps * every


@dataclass(frozen=True)
class Retrospective:
    root_cause: str | None
    went_well: str
    went_badly: str
    detected_by: str | None


def missing(retro: Retrospective) -> list[str]:
    """What a post-mortem still lacks before it can be marked reviewed."""
    gaps = []
    if not retro.root_cause:
        gaps.append("root cause")
    if not retro.detected_by:
        gaps.append("how it was detected")
    if not retro.went_well.strip():
        gaps.append("what went well")
    if not retro.went_badly.strip():
        gaps.append("what didn't go well")
    return gaps


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 60) -> str:
    """A playbook entry id from a title: lower case words joined by hyphens."""
    words = _SLUG.sub("-", text.lower()).strip("-")
    return words[:limit].rstrip("-") or "entry"
