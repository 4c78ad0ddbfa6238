"""Playbook entries: Markdown files with YAML front matter, steps as a ``- [ ]`` checklist.

---
id: price-sync-lag
title: Prices lag behind the catalogue
match: {alerts: [PriceSyncLag], services: [pricing], sources: [alarm], keywords: [stale prices]}
links: [{title: Dashboard, url: "https://…"}]
---
Any notes.
- [ ] First step
- [ ] Second step
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalator.domain.playbook import Entry

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)
_STEP = re.compile(r"^\s*[-*]\s+\[[ xX]\]\s+(.+?)\s*$", re.MULTILINE)


class _Match(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alerts: list[str] = []
    services: list[str] = []
    sources: list[str] = []
    keywords: list[str] = []


class _Link(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str


class _Front(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    match: _Match
    links: list[_Link] = []


Where = tuple[str, int, str]  # file, line, what to fix


class PlaybookError(Exception):
    def __init__(self, problems: list[Where]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{f}:{n}: {m}" for f, n, m in problems))


def load_playbooks(directory: Path) -> list[Entry]:
    """Every ``*.md`` entry in ``directory`` (sorted by file name); all problems at once."""
    if not directory.is_dir():
        raise PlaybookError(
            [(str(directory), 0, "no such playbook directory (playbooks.directory)")]
        )
    entries: list[Entry] = []
    problems: list[Where] = []
    for path in sorted(directory.glob("*.md")):
        try:
            entries.append(parse_entry(path.read_text("utf-8"), str(path)))
        except PlaybookError as exc:
            problems.extend(exc.problems)
    seen: dict[str, int] = {}
    for entry in entries:
        seen[entry.id] = seen.get(entry.id, 0) + 1
    problems.extend(
        f"{directory}: id {i!r} is used by {n} entries; ids must be unique"
        for i, n in seen.items()
        if n > 1
    )
    if problems:
        raise PlaybookError(problems)
    return entries


def parse_entry(text: str, where: str) -> Entry:
    found = _FRONT.match(text)
    if not found:
        raise PlaybookError([(where, 1, "start with front matter between two '---' lines")])
    try:
        raw = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise PlaybookError([(where, line, "front matter is not valid YAML")]) from exc
    try:
        front = _Front.model_validate(raw)
    except ValidationError as exc:
        raise PlaybookError(
            [(where, 2, f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}") for e in exc.errors()]
        ) from exc
    body = found.group(2)
    steps = tuple(_STEP.findall(body))
    if not steps:
        raise PlaybookError([(where, 1, "no steps: write them as a checklist, '- [ ] Do this'")])
    match = front.match
    if not (match.alerts or match.services or match.sources or match.keywords):
        raise PlaybookError([(where, 2, "match: name alerts, services, sources or keywords")])
    return Entry(
        id=front.id,
        title=front.title,
        steps=steps,
        alerts=frozenset(match.alerts),
        services=frozenset(match.services),
        sources=frozenset(match.sources),
        keywords=frozenset(match.keywords),
        links=tuple((link.title, link.url) for link in front.links),
        body=_STEP.sub("", body).strip(),
    )
