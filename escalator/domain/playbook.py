"""Which playbook entries fit an incident."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    steps: tuple[str, ...]
    alerts: frozenset[str] = frozenset()  # alertname labels
    services: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()  # alarm, customer, or a channel: email, cloudwatch…
    keywords: frozenset[str] = frozenset()
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (title, url)
    body: str = ""


@dataclass(frozen=True)
class Facts:
    title: str
    description: str
    source: str
    channel: str
    service: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    entry: Entry
    because: tuple[str, ...]


def _mentions(text: str, phrase: str) -> bool:
    """``phrase`` appears in ``text`` as whole words (case-insensitive)."""
    pattern = r"(?<![a-z0-9])" + re.escape(phrase.lower()) + r"(?![a-z0-9])"
    return re.search(pattern, text) is not None


def matching(entries: Sequence[Entry], facts: Facts) -> list[Match]:
    """Entries whose every stated criterion holds (an entry that states none matches nothing),
    best first: more reasons, then file order."""
    text = f"{facts.title}\n{facts.description}".lower()
    found: list[Match] = []
    for entry in entries:
        because: list[str] = []
        if entry.alerts:
            name = facts.labels.get("alertname", "")
            if name not in entry.alerts:
                continue
            because.append(f"alert {name}")
        if entry.services:
            if facts.service not in entry.services:
                continue
            because.append(f"service {facts.service}")
        if entry.sources:
            hit = {facts.source, facts.channel} & entry.sources
            if not hit:
                continue
            because.append(f"source {sorted(hit)[0]}")
        if entry.keywords:
            hits = sorted(k for k in entry.keywords if _mentions(text, k))
            if not hits:
                continue
            because.append("mentions " + ", ".join(hits))
        if because:
            found.append(Match(entry, tuple(because)))
    order = {e.id: i for i, e in enumerate(entries)}
    return sorted(found, key=lambda m: (-len(m.because), order[m.entry.id]))
