"""Rolling back, and checking that it worked.

A rollback of a flag goes to Unleash's admin API, of a release to the team's deployment
system through the signed webhook (process file ``rollback.webhook``); each through the
outbox (idempotent: one message per decision, and the Unleash sender looks at the flag
before turning it off), its answer recorded by the message's receipt. Without them, the
council is told what to do by hand and a member confirms it was done. A rollback Escalator
performs records its own change event. If the incident came from an alarm, the alarm is
watched: resolved within ``council.verify_within`` → the council is told it worked; still
firing → told it did not, and the incident is back in the council's queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.integrations.inbound.changes import ChangeIn
from escalator.process.core import announce, events
from escalator.process.core.context import Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import enqueue, record, schedule
from escalator.process.remediate import changes, council
from escalator.store.models import CouncilDecision, Incident, Ticket, TimelineEvent, Timer

UNLEASH = "unleash"  # outbox channel: Unleash's admin API
WEBHOOK = "rollback_webhook"  # outbox channel: the deployment system's rollback webhook
JIRA = "jira"  # the ticket channel (TRIAGE's sender): the engineering ticket and sprint
ROLLED_BACK = "council.rolled_back"  # receipt of a rollback message
VERIFY = "council.verify"
ACTING, MANUAL, DONE = "acting", "manual", "done"


def key_of(decision: CouncilDecision) -> str:
    return f"{decision.kind}:{decision.id}"


def act(ctx: Ctx, incident: Incident, row: CouncilDecision, what: str) -> None:
    p = row.params
    if row.kind == "rollback_flag" and ctx.channels.unleash:
        row.state = ACTING
        enqueue(
            ctx,
            incident=incident,
            channel=UNLEASH,
            destination=p["project"],
            subject=f"turn off {p['flag']} in {p['environment']} ({incident.key})",
            idempotency_key=f"unleash:off:{row.id}",
            payload={
                "op": "off",
                "project": p["project"],
                "flag": p["flag"],
                "environment": p["environment"],
                "decision": row.id,
                "receipt": ROLLED_BACK,
            },
        )
        note = f"asked Unleash to turn {p['flag']} off in {p['environment']}"
    elif (
        row.kind == "rollback_release"
        and ctx.channels.rollback_webhook
        and (hook := ctx.process.spec.rollback.webhook)
    ):
        row.state = ACTING
        enqueue(
            ctx,
            incident=incident,
            channel=WEBHOOK,
            destination=hook.url,
            subject=f"roll back {p['release']} ({incident.key})",
            idempotency_key=f"rollback:{row.id}",
            payload={
                "body": {
                    "action": "rollback",
                    "release": p["release"],
                    "service": p.get("service") or changes.service_of(incident) or "",
                    "incident": incident.key,
                    "decision": row.id,
                    "decided_by": row.decided_by,
                    "reasons": row.reasons,
                    "idempotency_key": f"escalator-rollback-{row.id}",
                },
                "decision": row.id,
                "receipt": ROLLED_BACK,
            },
        )
        note = f"asked the deployment system to roll back {p['release']}"
    else:
        row.state = MANUAL
        note = "to do by hand, then confirm: " + manual_steps(row)
    row.updated_at = ctx.now
    event = record(
        ctx, incident, "rollback_started", note=f"{what}: {note}", data={"decision": row.id}
    )
    announce.changed(ctx, incident, event, f":rewind: {announce.mrkdwn(event.note)}")


def manual_steps(row: CouncilDecision) -> str:
    p = row.params
    if row.kind == "rollback_flag":
        return (
            f"in Unleash, open project {p['project']}, flag {p['flag']}, and turn it off in "
            f"the {p['environment']} environment (Escalator has no ESCALATOR_UNLEASH_URL and "
            "ESCALATOR_UNLEASH_TOKEN)"
        )
    return (
        f"roll back release {p['release']} with your deployment system (no rollback.webhook in "
        "the process file, or no ESCALATOR_ROLLBACK_WEBHOOK_SECRET)"
    )


def on_rolled_back(ctx: Ctx, payload: dict[str, Any], result: dict[str, Any]) -> None:
    """Receipt: Unleash or the deployment system answered yes."""
    row = ctx.session.get(CouncilDecision, int(payload.get("decision", 0)))
    if row is None or row.state != ACTING:
        return
    incident = ctx.session.get(Incident, row.incident_id)
    if incident is not None:
        done(ctx, incident, row, result)


def done(ctx: Ctx, incident: Incident, row: CouncilDecision, result: dict[str, Any]) -> None:
    row.state, row.updated_at = DONE, ctx.now
    p = row.params
    what = (
        f"flag {p['flag']} turned off in {p['environment']} ({p['project']})"
        if row.kind == "rollback_flag"
        else f"release {p['release']} rolled back"
    )
    by = f"by hand ({result['by_hand']})" if result.get("by_hand") else "by Escalator"
    changes.store(
        ctx,
        ChangeIn(
            summary=f"rollback: {what} {by} for {incident.key} (decision #{row.id})",
            at=ctx.now,
            service=p.get("service") or changes.service_of(incident),
            source="escalator",
            details={"decision": row.id, "incident": incident.key, **p},
        ),
    )
    watch = incident.source == "alarm" and Status(incident.status) in ACTIVE
    until: datetime | None = ctx.now + ctx.process.spec.council.verify_within if watch else None
    row.result = {
        **result,
        "done_at": ctx.now.isoformat(),
        "watch_until": until.isoformat() if until else None,
    }
    note = f"{what} {by}" + (f"; watching the alarm until {until:%H:%M} UTC" if until else "")
    event = record(ctx, incident, "rollback_done", note=note, data={"decision": row.id, **result})
    if until is not None:
        schedule(ctx, incident, VERIFY, until, {"decision": row.id})
    events.publish(ctx, events.COUNCIL_DECIDED, incident, event)
    announce.changed(ctx, incident, event, f":rewind: {announce.mrkdwn(note)}")
    notify(
        ctx,
        incident,
        people=council.members(ctx),
        subject=f"Rolled back ({what}): {incident.title}",
        because=event,
    )


def _watched(ctx: Ctx, incident: Incident) -> list[CouncilDecision]:
    return [
        d
        for d in ctx.session.scalars(
            select(CouncilDecision).where(
                CouncilDecision.incident_id == incident.id, CouncilDecision.state == DONE
            )
        )
        if d.result.get("watch_until") and "worked" not in d.result
    ]


def _verdict(ctx: Ctx, incident: Incident, row: CouncilDecision, worked: bool) -> TimelineEvent:
    row.result = {**row.result, "worked": worked, "checked_at": ctx.now.isoformat()}
    row.updated_at = ctx.now
    if worked:
        note = f"the rollback worked: the alarm resolved ({row.kind} #{row.id})"
    else:
        within = format_duration(ctx.process.spec.council.verify_within)
        note = (
            f"the rollback did not work: the alarm is still firing {within} after it "
            f"({row.kind} #{row.id})"
        )
    event = record(
        ctx, incident, "rollback_verified", note=note, data={"decision": row.id, "worked": worked}
    )
    events.publish(ctx, events.COUNCIL_DECIDED, incident, event)
    notify(
        ctx,
        incident,
        people=council.members(ctx),
        subject=("Rollback worked: " if worked else "Rollback did not work: ") + incident.title,
        because=event,
    )
    return event


def on_resolved(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The alarm resolved (the incident with it) while a rollback was watched: it worked."""
    for row in _watched(ctx, incident):
        if ctx.now <= datetime.fromisoformat(row.result["watch_until"]):
            _verdict(ctx, incident, row, True)


def on_verify(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """Time is up: still firing means the rollback did not work; back to the council."""
    row = ctx.session.get(CouncilDecision, int(timer.payload.get("decision", 0)))
    if row is None or row not in _watched(ctx, incident):
        return
    if Status(incident.status) in ACTIVE:
        _verdict(ctx, incident, row, False)
        council.back_to_queue(ctx, incident, "the rollback did not work; back to the council")
    else:
        _verdict(ctx, incident, row, True)


def file_engineering_ticket(ctx: Ctx, incident: Incident, row: CouncilDecision) -> None:
    """JIRA: the engineering ticket, linked to the MCT ticket and moved into the sprint,
    queued behind the MCT ticket's own messages (it needs that ticket's key)."""
    ticket = ctx.session.scalars(select(Ticket).where(Ticket.incident_id == incident.id)).first()
    p = row.params
    enqueue(
        ctx,
        incident=incident,
        channel=JIRA,
        destination=ctx.channels.ticket_project,
        subject=f"engineering ticket for {incident.key} in sprint {p['sprint']}",
        idempotency_key=f"jira:engineering:{row.id}",
        payload={
            "op": "engineering",
            "fields": {
                "project": {"key": p["project"]},
                "summary": f"{incident.key} {incident.title}"[:250],
                "description": f"Engineering Council decision #{row.id} ({row.decided_by}): "
                f"{row.reasons}",
                "labels": [f"escalator-{incident.key}-council-{row.id}"],
            },
            "label": f"escalator-{incident.key}-council-{row.id}",
            "sprint_id": p["sprint_id"],
            "mct_key": ticket.key if ticket else None,
            "decision": row.id,
        },
    )
