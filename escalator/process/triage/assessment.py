"""Severity by the seed's five questions, and the hand-off to the Support Manager above the
process file's threshold."""

from __future__ import annotations

from dataclasses import asdict

from escalator.domain.lifecycle import Change
from escalator.domain.roles import SUPPORT_MANAGER
from escalator.domain.severity import Answers, Verdict, assess, at_or_above
from escalator.process.core import announce, events, incidents
from escalator.process.core.context import Ctx
from escalator.process.core.records import cancel_timers, load, record
from escalator.process.triage import tickets
from escalator.process.triage.kickoff import TIMERS
from escalator.process.triage.report import writable
from escalator.store.models import Assessment, Incident


def evaluate(ctx: Ctx, key: str, answers: Answers) -> tuple[Incident, Verdict]:
    """Assess (every assessment is kept), set the severity, stop the triage clock, and hand
    the incident to the Support Manager when the severity meets the threshold. A new
    severity is published (``events.SEVERITY_CHANGED``)."""
    incident = load(ctx, key)
    writable(incident, "assess the severity")
    verdict = assess(ctx.process.severity_rules, answers, default=ctx.process.spec.severity.default)
    ctx.session.add(
        Assessment(
            incident_id=incident.id,
            at=ctx.now,
            by=ctx.actor,
            answers=asdict(answers),
            severity=verdict.severity,
            summary=verdict.summary,
        )
    )
    before = incident.severity
    incident.severity = verdict.severity
    incident.updated_at = ctx.now
    event = record(
        ctx,
        incident,
        "severity_assessed",
        note=verdict.summary,
        change=Change("severity", before, verdict.severity),
        data={"answers": asdict(answers)},
    )
    cancel_timers(ctx, incident, TIMERS)
    events.publish(ctx, events.TRIAGED, incident, event)
    announce.changed(ctx, incident, event, f"severity {verdict.summary}")
    tickets.comment(ctx, incident, event, f"Severity {verdict.summary}")
    if before != verdict.severity:  # COMMUNICATE re-plans the customers' update clock
        events.publish(ctx, events.SEVERITY_CHANGED, incident, event)
    threshold = ctx.process.spec.escalation.threshold
    if at_or_above(verdict.severity, threshold):
        if incident.owner_role != SUPPORT_MANAGER:
            incidents.escalate(
                ctx,
                key,
                to_role=SUPPORT_MANAGER,
                note=f"{verdict.severity} meets the escalation threshold {threshold}",
                by_rule=True,
            )
    else:
        record(
            ctx,
            incident,
            "kept_by_first_tier",
            note=f"{verdict.severity} is below the escalation threshold {threshold}: "
            "first tier keeps it",
        )
    return incident, verdict
