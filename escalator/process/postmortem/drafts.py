"""Playbook entries written after an incident: a ``playbook_entry`` action item opens a draft
prefilled from its incident (its alert, service and source to match on, the steps ticked on
it); publishing renders the draft as a Markdown entry, checks it with the same loader as
``escalator check``, writes it into the process file's playbooks directory, and the running
process matches new incidents against it at once (other processes notice the directory
changed when they next match)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from escalator.config.playbook_loader import PlaybookError, load_playbooks, parse_entry
from escalator.domain.postmortem import DONE, slug
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.records import load, record
from escalator.process.postmortem import retrospective
from escalator.store.models import ActionItem, Incident, PlaybookDraft, PlaybookRun

MATCH_KEYS = ("alerts", "services", "sources", "keywords")
PLACEHOLDER = "Write the first thing to check or do"


def open_draft(ctx: Ctx, incident: Incident, item: ActionItem) -> PlaybookDraft:
    labels = incident.details.get("labels") or {}
    alert = str(labels.get("alertname", ""))
    service = str(incident.details.get("service", ""))
    match: dict[str, list[str]] = {
        "alerts": [alert] if alert else [],
        "services": [service] if service else [],
        "sources": [] if alert or service else [incident.source],
        "keywords": [],
    }
    runs = ctx.session.scalars(select(PlaybookRun).where(PlaybookRun.incident_id == incident.id))
    ticked = [run.steps[t["step"]] for run in runs for t in run.ticks]
    draft = PlaybookDraft(
        action_item_id=item.id,
        entry_id=slug(item.title),
        title=item.title,
        match=match,
        steps=ticked or [PLACEHOLDER],
        notes=f"Written after {incident.key}: {incident.title}",
        updated_at=ctx.now,
        path="",
    )
    ctx.session.add(draft)
    return draft


def of(ctx: Ctx, item_id: int) -> tuple[PlaybookDraft, ActionItem]:
    draft = ctx.session.scalars(
        select(PlaybookDraft).where(PlaybookDraft.action_item_id == item_id)
    ).first()
    item = ctx.session.get(ActionItem, item_id)
    if draft is None or item is None:
        raise NotFound(f"action item #{item_id} has no playbook entry draft")
    return draft, item


def _writable(ctx: Ctx, item: ActionItem) -> Incident:
    incident = load(ctx, f"{item.incident_id}")
    if ctx.actor != item.owner:
        retrospective.check_write(ctx, retrospective.of(ctx, incident), incident)
    return incident


def update(
    ctx: Ctx,
    item_id: int,
    *,
    entry_id: str | None = None,
    title: str | None = None,
    match: Mapping[str, Sequence[str]] | None = None,
    steps: Sequence[str] | None = None,
    notes: str | None = None,
) -> PlaybookDraft:
    """Edit the draft (a draft may be incomplete: the loader checks it when it is published)."""
    draft, item = of(ctx, item_id)
    _writable(ctx, item)
    if draft.published_at is not None:
        raise InvalidInput("draft", f"{draft.entry_id} is published: edit its file instead")
    if match is not None:
        unknown = set(match) - set(MATCH_KEYS)
        if unknown:
            raise InvalidInput(
                "match", f"match on {', '.join(MATCH_KEYS)}, not {', '.join(sorted(unknown))}"
            )
        draft.match = {k: [v.strip() for v in match.get(k, []) if v.strip()] for k in MATCH_KEYS}
    if steps is not None:
        draft.steps = [" ".join(s.split()) for s in steps if s.strip()]
    if entry_id is not None:
        draft.entry_id = entry_id.strip()
    if title is not None:
        draft.title = title.strip()
    if notes is not None:
        draft.notes = notes.strip()
    draft.updated_at = ctx.now
    return draft


def markdown(draft: PlaybookDraft) -> str:
    """The entry as a playbook file: front matter, the notes, the steps as a checklist."""
    front: dict[str, Any] = {
        "id": draft.entry_id,
        "title": draft.title,
        "match": {k: v for k, v in draft.match.items() if v},
    }
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
    steps = "\n".join(f"- [ ] {step}" for step in draft.steps)
    notes = f"{draft.notes}\n\n" if draft.notes else ""
    return f"---\n{head}---\n{notes}{steps}\n"


def publish(ctx: Ctx, item_id: int) -> PlaybookDraft:
    """Check the draft with the playbook loader and write it into the playbooks directory;
    the action item is then done. Refused, with nothing written, when the loader refuses it
    or its id is taken."""
    draft, item = of(ctx, item_id)
    incident = _writable(ctx, item)
    if draft.published_at is not None:
        raise InvalidInput("draft", f"{draft.entry_id} is published already ({draft.path})")
    directory = ctx.process.playbooks_dir
    if directory is None:
        raise InvalidInput(
            "playbooks", "the process file names no playbooks directory: set playbooks.directory"
        )
    path = Path(directory) / f"{draft.entry_id}.md"
    text = markdown(draft)
    try:
        entry = parse_entry(text, str(path))
        taken = {e.id for e in load_playbooks(Path(directory))}
    except PlaybookError as exc:
        raise InvalidInput("draft", f"the playbook loader refuses it: {exc}") from exc
    if entry.id in taken or path.exists():
        raise InvalidInput("entry_id", f"an entry {entry.id!r} exists already: choose another id")
    draft.published_at, draft.published_by, draft.path = ctx.now, ctx.actor, str(path)
    item.state, item.closed_at, item.closed_by = DONE, ctx.now, ctx.actor
    record(
        ctx,
        incident,
        "playbook_entry_published",
        note=f"playbook entry {entry.id} published: {entry.title} ({path.name})",
        data={"item": item.id, "entry": entry.id},
    )
    ctx.session.flush()  # the rows hold before the file is written
    _write(path, text)
    ctx.process.reload_playbooks()
    return draft


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file renamed into place."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, "utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InvalidInput("playbooks", f"cannot write {path}: {exc.strerror or exc}") from exc
