"""Playbook entries on an incident: attached when they match, steps ticked by who and when,
and an explicit outcome — applied and resolved, failed, or no playbook applies — that the
escalation stage reads."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from escalator.domain.playbook import Facts, matching
from escalator.process.core import incidents
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.records import load, record
from escalator.process.triage.report import writable
from escalator.store.models import Incident, PlaybookRun, TimelineEvent

Outcome = Literal["resolved", "failed", "not_applicable"]
OUTCOMES = ("resolved", "failed", "not_applicable")


def facts_of(incident: Incident) -> Facts:
    labels = incident.details.get("labels") or {}
    return Facts(
        title=incident.title,
        description=incident.description,
        source=incident.source,
        channel=incident.channel,
        service=str(incident.details.get("service", "")),
        labels={str(k): str(v) for k, v in labels.items()},
    )


def attach_matching(ctx: Ctx, incident: Incident) -> list[PlaybookRun]:
    runs = []
    for match in matching(ctx.process.playbooks, facts_of(incident)):
        run = PlaybookRun(
            incident_id=incident.id,
            entry_id=match.entry.id,
            title=match.entry.title,
            steps=list(match.entry.steps),
            ticks=[],
            because="; ".join(match.because),
        )
        ctx.session.add(run)
        runs.append(run)
        record(
            ctx,
            incident,
            "playbook_attached",
            note=f"{match.entry.title} ({run.because})",
            data={"entry": match.entry.id},
        )
    return runs


def runs_of(ctx: Ctx, incident: Incident) -> list[PlaybookRun]:
    query = (
        select(PlaybookRun).where(PlaybookRun.incident_id == incident.id).order_by(PlaybookRun.id)
    )
    return list(ctx.session.scalars(query).all())


def _run(ctx: Ctx, incident: Incident, entry_id: str) -> PlaybookRun:
    for run in runs_of(ctx, incident):
        if run.entry_id == entry_id:
            return run
    raise NotFound(f"playbook entry {entry_id!r} is not attached to {incident.key}")


def attach(ctx: Ctx, key: str, entry_id: str) -> PlaybookRun:
    """Attach an entry by hand, when matching did not find it."""
    incident = load(ctx, key)
    writable(incident, "attach a playbook entry")
    entry = next((e for e in ctx.process.playbooks if e.id == entry_id), None)
    if entry is None:
        raise NotFound(f"no playbook entry {entry_id!r}")
    if any(r.entry_id == entry_id for r in runs_of(ctx, incident)):
        return _run(ctx, incident, entry_id)
    run = PlaybookRun(
        incident_id=incident.id,
        entry_id=entry.id,
        title=entry.title,
        steps=list(entry.steps),
        ticks=[],
        because=f"attached by {ctx.actor}",
    )
    ctx.session.add(run)
    record(
        ctx,
        incident,
        "playbook_attached",
        note=f"{entry.title} (by hand)",
        data={"entry": entry.id},
    )
    return run


def tick(ctx: Ctx, key: str, entry_id: str, step: int) -> PlaybookRun:
    incident = load(ctx, key)
    writable(incident, "tick a playbook step")
    run = _run(ctx, incident, entry_id)
    if not 0 <= step < len(run.steps):
        raise InvalidInput("step", f"{entry_id} has steps 0 to {len(run.steps) - 1}")
    if any(t["step"] == step for t in run.ticks):
        return run
    run.ticks = [*run.ticks, {"step": step, "by": ctx.actor, "at": ctx.now.isoformat()}]
    record(
        ctx,
        incident,
        "playbook_step_done",
        note=f"{run.title}: {run.steps[step]}",
        data={"entry": entry_id, "step": step},
    )
    return run


def conclude(
    ctx: Ctx, key: str, outcome: str, *, entry_id: str | None = None, note: str = ""
) -> Incident:
    """Record the playbook's outcome; "resolved" also resolves the incident."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome", f"one of {', '.join(OUTCOMES)}")
    incident = load(ctx, key)
    writable(incident, "record the playbook's outcome")
    runs = runs_of(ctx, incident)
    if entry_id is not None:
        runs = [_run(ctx, incident, entry_id)]
    if outcome != "not_applicable" and not runs:
        raise InvalidInput("outcome", "no playbook entry is attached; say not_applicable instead")
    for run in runs:
        run.outcome, run.outcome_by, run.outcome_at = outcome, ctx.actor, ctx.now
    names = ", ".join(r.title for r in runs) or "no playbook entry"
    record(ctx, incident, f"playbook_{outcome}", note=f"{names}{' — ' + note if note else ''}")
    if outcome == "resolved":
        incidents.resolve(ctx, key, note=f"playbook applied: {names}")
    return incident


def outcome(ctx: Ctx, incident: Incident) -> str | None:
    """The latest recorded outcome (resolved, failed, not_applicable), as escalation reads it."""
    kinds = [f"playbook_{o}" for o in OUTCOMES]
    latest = ctx.session.scalars(
        select(TimelineEvent.kind)
        .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind.in_(kinds))
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    ).first()
    return latest.removeprefix("playbook_") if latest else None
