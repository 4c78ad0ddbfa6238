"""Action items: what a post-mortem decided to change — a new metric, an alarm threshold up or
down, a playbook entry, a documentation update, anything else — each with an owner, a due
date, a state (open, done, won't do with a reason) and optionally a JIRA ticket.

Owners are reminded before the due date, at it and every so often after it until the item is
done (``postmortem.reminders``). The reminders are timer rows of their own, not the incident's:
closing the incident (or resolving it again) does not stop them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from escalator.domain.durations import format_duration
from escalator.domain.permissions import Forbidden
from escalator.domain.postmortem import (
    DONE,
    KIND_LABELS,
    OPEN,
    PLAYBOOK_ENTRY,
    WONT_DO,
    ItemSpec,
    item_problems,
    next_reminder,
    state_problems,
)
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.notify import tell
from escalator.process.core.records import load, record
from escalator.process.postmortem import drafts, retrospective
from escalator.store.models import ActionItem, Incident, Timer
from escalator.store.upsert import dialect_insert

REMINDER = "postmortem.action_reminder"
_JIRA = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        (field, why), rest = problems[0], problems[1:]
        raise InvalidInput(field, "; ".join([why, *(f"{f}: {w}" for f, w in rest)]))


def _jira(key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    if not _JIRA.match(key.strip()):
        raise InvalidInput("jira", f"{key!r} is not a JIRA key: write it like MCT-42")
    return key.strip()


def add(
    ctx: Ctx,
    key: str,
    *,
    kind: str,
    title: str,
    owner: str | None,
    due_at: datetime | None,
    details: Mapping[str, Any] | None = None,
    jira: str | None = None,
    finding: str | None = None,
) -> ActionItem:
    """Add an action item to an incident's post-mortem; its owner is told and reminded.
    A ``playbook_entry`` item opens a draft entry prefilled from the incident. ``finding``:
    the weekly report's finding it answers, which gets one item only."""
    incident = load(ctx, key)
    retrospective.check_write(ctx, retrospective.of(ctx, incident), incident)
    given = {str(k): str(v).strip() for k, v in (details or {}).items() if str(v).strip()}
    spec = ItemSpec(kind, title, owner, due_at, given)
    _refuse(item_problems(spec, people=list(ctx.process.spec.people), now=ctx.now))
    if finding:
        made = ctx.session.scalars(select(ActionItem).where(ActionItem.finding == finding)).first()
        if made is not None:
            raise InvalidInput("finding", f"action item #{made.id} answers this finding already")
    assert owner is not None and due_at is not None
    item = ActionItem(
        incident_id=incident.id,
        kind=kind,
        title=title.strip(),
        details=given,
        owner=owner,
        due_at=due_at,
        state=OPEN,
        reason="",
        jira=_jira(jira),
        finding=finding or None,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    ctx.session.add(item)
    ctx.session.flush()
    event = record(
        ctx,
        incident,
        "action_item_added",
        note=f"#{item.id} {KIND_LABELS[kind]}: {item.title} — {owner}, "
        f"due {due_at:%Y-%m-%d %H:%M} UTC",
        data={"item": item.id, "kind": kind},
    )
    tell(
        ctx,
        owner,
        f"[{incident.key}] Action item #{item.id} is yours, due {due_at:%Y-%m-%d}: {item.title}",
        body=_link(ctx, incident),
        key=f"action:{event.ref}",
        incident=incident,
    )
    if kind == PLAYBOOK_ENTRY:
        drafts.open_draft(ctx, incident, item)
    _arm(ctx, item)
    return item


def _link(ctx: Ctx, incident: Incident) -> str:
    return ctx.links.url(f"/incidents/{incident.key}/postmortem")


def get(ctx: Ctx, item_id: int, *, for_update: bool = True) -> tuple[ActionItem, Incident]:
    item = ctx.session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"no action item #{item_id}")
    incident = load(ctx, f"{item.incident_id}", for_update=for_update)
    return item, incident


def _check_owner_or_writer(ctx: Ctx, item: ActionItem, incident: Incident) -> None:
    if ctx.actor == item.owner:
        return
    try:
        retrospective.check_write(ctx, retrospective.of(ctx, incident), incident)
    except Forbidden as exc:
        what = f"change action item #{item.id} (its owner {item.owner} may)"
        raise Forbidden(ctx.actor, what, exc.required) from exc


def set_state(ctx: Ctx, item_id: int, state: str, *, reason: str = "") -> ActionItem:
    """Done, won't do (with the reason), or open again (and chased again)."""
    item, incident = get(ctx, item_id)
    _check_owner_or_writer(ctx, item, incident)
    _refuse(state_problems(item.state, state, reason))
    if state == item.state:
        return item
    item.state = state
    item.reason = reason.strip() if state == WONT_DO else ""
    if state == OPEN:
        item.closed_at = item.closed_by = None
        _arm(ctx, item)
    else:
        item.closed_at, item.closed_by = ctx.now, ctx.actor
    said = {DONE: "done", WONT_DO: f"won't do: {item.reason}", OPEN: "open again"}[state]
    record(
        ctx,
        incident,
        f"action_item_{state}" if state != OPEN else "action_item_reopened",
        note=f"#{item.id} {item.title}: {said}",
        data={"item": item.id},
    )
    return item


def edit(
    ctx: Ctx,
    item_id: int,
    *,
    owner: str | None = None,
    due_at: datetime | None = None,
    jira: str | None = None,
) -> ActionItem:
    """A new owner, due date or JIRA ticket; a new due date re-arms the reminders."""
    item, incident = get(ctx, item_id)
    _check_owner_or_writer(ctx, item, incident)
    spec = ItemSpec(item.kind, item.title, owner or item.owner, due_at or item.due_at, item.details)
    problems = item_problems(spec, people=list(ctx.process.spec.people), now=ctx.now)
    _refuse([p for p in problems if p[0] in ("owner", "due") and (owner or due_at)])
    notes = []
    if owner and owner != item.owner:
        notes.append(f"owner {item.owner} → {owner}")
        item.owner = owner
    if due_at and due_at != item.due_at:
        notes.append(f"due {item.due_at:%Y-%m-%d} → {due_at:%Y-%m-%d}")
        item.due_at = due_at
        if item.state == OPEN:
            _arm(ctx, item)
    if jira is not None and _jira(jira) != item.jira:
        item.jira = _jira(jira)
        notes.append(f"JIRA {item.jira or 'none'}")
    if notes:
        record(
            ctx,
            incident,
            "action_item_changed",
            note=f"#{item.id} {item.title}: " + "; ".join(notes),
            data={"item": item.id},
        )
    return item


def items(
    ctx: Ctx,
    *,
    incident: Incident | None = None,
    state: str | None = None,
    owner: str | None = None,
    overdue: bool = False,
    limit: int = 500,
) -> list[ActionItem]:
    query = select(ActionItem)
    if incident is not None:
        query = query.where(ActionItem.incident_id == incident.id)
    if state:
        query = query.where(ActionItem.state == state)
    if owner:
        query = query.where(ActionItem.owner == owner)
    if overdue:
        query = query.where(ActionItem.state == OPEN, ActionItem.due_at < ctx.now)
    return list(ctx.session.scalars(query.order_by(ActionItem.due_at, ActionItem.id).limit(limit)))


# -- reminders -----------------------------------------------------------------------------


def _arm(ctx: Ctx, item: ActionItem) -> None:
    """The item's next reminder, keyed so that arming it twice stores it once. A reminder
    armed for an earlier due date finds the date changed and stays silent."""
    spec = ctx.process.spec.postmortem.reminders
    at = next_reminder(item.due_at, ctx.now, before=spec.before, every=spec.overdue_every)
    stmt = dialect_insert(ctx.session, Timer.__table__).values(
        incident_id=None,
        kind=REMINDER,
        due_at=at,
        state="pending",
        payload={"item": item.id, "due_at": item.due_at.isoformat()},
        created_at=ctx.now,
        dedup_key=f"action:{item.id}:{at.isoformat()}",
    )
    ctx.session.execute(stmt.on_conflict_do_nothing(index_elements=["dedup_key"]))


def on_reminder(ctx: Ctx, _: object, timer: Timer) -> None:
    """Remind the owner of an open item (before, at and after its due date), then arm the
    next reminder; silent for an item done, dropped or given another due date."""
    item = ctx.session.get(ActionItem, int(timer.payload.get("item", 0)))
    if item is None or item.state != OPEN:
        return
    if timer.payload.get("due_at") != item.due_at.isoformat():
        return
    incident = load(ctx, f"{item.incident_id}")
    minutes = round((item.due_at - timer.due_at).total_seconds() / 60)  # as scheduled
    if minutes > 0:
        when = f"due in {format_duration(timedelta(minutes=minutes))}"
    elif minutes < 0:
        when = f"overdue by {format_duration(timedelta(minutes=-minutes))}"
    else:
        when = "due now"
    event = record(
        ctx,
        incident,
        "action_item_reminded",
        note=f"#{item.id} {item.title}: {item.owner} reminded, {when}",
        data={"item": item.id, "owner": item.owner},
    )
    tell(
        ctx,
        item.owner,
        f"[{incident.key}] Action item #{item.id} {when}: {item.title}",
        body=f"Mark it done or won't do (with the reason): {_link(ctx, incident)}",
        key=f"reminder:{event.ref}",
        incident=incident,
    )
    _arm(ctx, item)
