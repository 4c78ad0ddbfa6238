"""The post-mortem of one incident: started when the incident resolves, written by whoever
owned it (or a manager), marked reviewed in the weekly review, or waived by a manager with a
reason; and the guard that keeps an incident from closing without one of the two."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from escalator.domain.permissions import Forbidden, check_action
from escalator.domain.postmortem import DETECTIONS, Retrospective, missing
from escalator.process.core import people
from escalator.process.core.context import SYSTEM, Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.notify import notify
from escalator.process.core.records import load, record
from escalator.process.postmortem import readings
from escalator.store.models import Incident, Postmortem, Review, TimelineEvent

DRAFT = "draft"
REVIEWED = "reviewed"
WAIVED = "waived"
MAX_FACTORS = 20


def retro(row: Postmortem) -> Retrospective:
    return Retrospective(row.root_cause, row.went_well, row.went_badly, row.detected_by)


def start(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The incident resolved: its post-mortem is started, prefilled with how it was
    detected and its service, and whoever owned it is asked to write it. Resolved again
    after a reopen, an earlier review no longer holds: it is a draft again."""
    row = ctx.session.get(Postmortem, incident.id)
    if row is not None:
        if row.state != DRAFT:
            row.state, row.reviewed_at, row.reviewed_by = DRAFT, None, None
            row.updated_at, row.updated_by = ctx.now, ctx.actor
            record(ctx, incident, "postmortem_reopened", note="resolved again: review it again")
        return
    detected = "customer" if incident.source == "customer" else "alarm"
    row = Postmortem(
        incident_id=incident.id,
        state=DRAFT,
        owner=incident.owner_person,
        detected_by=detected,
        customer_first=detected == "customer",
        service=str(incident.details.get("service", "")),
        factors=[],
        went_well="",
        went_badly="",
        waiver="",
        started_at=ctx.now,
        updated_at=ctx.now,
        updated_by=ctx.actor,
    )
    ctx.session.add(row)
    writer = row.owner or "the Support Manager"
    started = record(
        ctx,
        incident,
        "postmortem_started",
        note=f"post-mortem started; {writer} writes it before the weekly review",
    )
    told = [row.owner] if row.owner else people.holders(ctx, "support_manager")
    notify(
        ctx,
        incident,
        people=told,
        subject=f"Write the post-mortem: {incident.title}",
        body=f"Root cause, what went well, what didn't, and action items: "
        f"{ctx.links.url(f'/incidents/{incident.key}/postmortem')}",
        because=started,
    )


def of(ctx: Ctx, incident: Incident) -> Postmortem:
    row = ctx.session.get(Postmortem, incident.id)
    if row is None:
        raise NotFound(f"{incident.key} has no post-mortem: it starts when the incident resolves")
    return row


def check_write(ctx: Ctx, row: Postmortem, incident: Incident) -> None:
    """The post-mortem's owner and the managers write it."""
    if ctx.actor in (SYSTEM, row.owner):
        return
    roles = people.roles_of(ctx, ctx.actor)
    try:
        check_action(ctx.actor, roles, "postmortem.write")
    except Forbidden as exc:
        owner = f" (its owner {row.owner} may)" if row.owner else ""
        what = f"write the post-mortem of {incident.key}{owner}"
        raise Forbidden(ctx.actor, what, exc.required) from exc


def update(
    ctx: Ctx,
    key: str,
    *,
    root_cause: str | None = None,
    factors: Sequence[str] | None = None,
    trigger_change: str | None = None,
    detected_by: str | None = None,
    service: str | None = None,
    went_well: str | None = None,
    went_badly: str | None = None,
) -> Postmortem:
    """Change the fields given (None leaves a field as it is); every change goes on the
    incident's timeline. Refused whole when any field is wrong."""
    incident = load(ctx, key)
    row = of(ctx, incident)
    check_write(ctx, row, incident)
    changes: dict[str, Any] = {}
    if root_cause is not None:
        causes = ctx.process.spec.postmortem.root_causes
        if root_cause not in causes:
            raise InvalidInput(
                "root_cause", f"unknown root cause {root_cause!r}: one of {', '.join(causes)}"
            )
        changes["root_cause"] = root_cause
    if detected_by is not None:
        if detected_by not in DETECTIONS:
            raise InvalidInput("detected_by", f"one of {', '.join(DETECTIONS)}")
        changes["detected_by"] = detected_by
        changes["customer_first"] = detected_by == "customer"
    if factors is not None:
        kept = [" ".join(f.split()) for f in factors if f.strip()]
        if len(kept) > MAX_FACTORS or any(len(f) > 500 for f in kept):
            raise InvalidInput("factors", f"at most {MAX_FACTORS} factors of 500 characters")
        changes["factors"] = kept
    if trigger_change is not None:
        changes["trigger_change"] = _change(ctx, incident, trigger_change)
    for name, value in (("service", service), ("went_well", went_well), ("went_badly", went_badly)):
        if value is not None:
            changes[name] = value.strip()
    changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if changed:
        for name, value in changed.items():
            setattr(row, name, value)
        row.updated_at, row.updated_by = ctx.now, ctx.actor
        shown = [k for k in changed if k != "customer_first"]
        record(
            ctx,
            incident,
            "postmortem_updated",
            note="post-mortem: " + ", ".join(n.replace("_", " ") for n in shown),
            data={k: changed[k] for k in shown},
        )
    return row


def _change(ctx: Ctx, incident: Incident, change_id: str) -> dict[str, Any] | None:
    """The change event picked as the trigger ("" for none), from REMEDIATE's records."""
    if not change_id:
        return None
    choices = readings.change_events(ctx, incident)
    if isinstance(choices, readings.NotAvailable):
        raise InvalidInput("trigger_change", f"no change events to pick from ({choices})")
    picked = next((c for c in choices if c.id == change_id), None)
    if picked is None:
        known = ", ".join(c.id for c in choices) or "none"
        raise InvalidInput(
            "trigger_change", f"no change {change_id!r} before {incident.key} (known: {known})"
        )
    return {"id": picked.id, "at": picked.at.isoformat(), "summary": picked.summary}


def mark_reviewed(ctx: Ctx, key: str) -> Postmortem:
    """Reviewed in the weekly review (a manager marks it): complete, with every part."""
    check_action(ctx.actor, people.roles_of(ctx, ctx.actor), "postmortem.review")
    incident = load(ctx, key)
    row = of(ctx, incident)
    gaps = missing(retro(row))
    if gaps:
        raise InvalidInput(
            "postmortem", f"{incident.key}'s post-mortem lacks {', '.join(gaps)}: fill it in first"
        )
    if row.state == REVIEWED:
        return row
    latest = ctx.session.scalars(select(Review).order_by(Review.due_at.desc()).limit(1)).first()
    row.state, row.reviewed_at, row.reviewed_by = REVIEWED, ctx.now, ctx.actor
    row.review_id = latest.id if latest else None
    record(ctx, incident, "postmortem_reviewed", note="post-mortem reviewed")
    return row


def waive(ctx: Ctx, key: str, reason: str) -> Postmortem:
    """A manager lets the incident close without a reviewed post-mortem, saying why."""
    check_action(ctx.actor, people.roles_of(ctx, ctx.actor), "postmortem.waive")
    if not reason.strip():
        raise InvalidInput("reason", "a waiver needs its reason")
    incident = load(ctx, key)
    row = of(ctx, incident)
    row.state, row.waiver = WAIVED, reason.strip()
    row.waived_at, row.waived_by = ctx.now, ctx.actor
    record(ctx, incident, "postmortem_waived", note=f"post-mortem waived: {row.waiver}")
    return row


def refuses_close(ctx: Ctx, incident: Incident) -> str | None:
    """The ``closing`` guard: an incident closes with a reviewed or waived post-mortem."""
    row = ctx.session.get(Postmortem, incident.id)
    if row is not None and row.state in (REVIEWED, WAIVED):
        return None
    gaps = missing(retro(row)) if row is not None else ["everything"]
    lacking = f" (it still lacks {', '.join(gaps)})" if gaps else ""
    return (
        f"its post-mortem has not been reviewed{lacking}: complete it on {incident.key}'s "
        "post-mortem page, where a manager marks it reviewed (or in the weekly review, under "
        "Reviews), or a manager waives it there with a reason"
    )
