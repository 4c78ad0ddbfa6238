"""ESCALATE: the Support Manager's decision — apply the playbook, record that none applies,
send low severity to the Engineering Manager, or page the On Call Engineer — and a person's
escalation by hand, routed through the same rules.

When an incident starts escalating, the path is frozen on it (``Incident.policy``): the page
order, the one-hour rule's order, and every clock. Editing the process file changes later
incidents only.
"""

from __future__ import annotations

from typing import Any

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Action, IllegalTransition, Stage, Status
from escalator.domain.permissions import check_action
from escalator.domain.roles import SUPPORT_MANAGER
from escalator.process import triage
from escalator.process.core import announce, incidents
from escalator.process.core.context import SYSTEM, Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, load, record, schedule, state_of
from escalator.process.escalate import paging, resolution
from escalator.process.escalate.paging import BRING_IN, ON_CALL
from escalator.store.models import Incident, TimelineEvent, Timer

MANAGER_DECISION = "escalate.manager_decision"  # the Support Manager's clock to decide

DECISIONS = {
    "apply_playbook": "apply the playbook",
    "no_playbook": "record that no playbook applies",
    "engineering_manager": "escalate to the Engineering Manager (low severity)",
    "on_call": "escalate to the On Call Engineer (high severity)",
}


def policy_of(ctx: Ctx) -> dict[str, Any]:
    """The escalation path as the process file has it now, to freeze on an incident."""
    spec = ctx.process.spec
    clocks = spec.clocks
    return {
        "taken_at": ctx.now.isoformat(),
        "chains": {
            ON_CALL: list(spec.escalation.page_order),
            BRING_IN: list(spec.escalation.on_call_escalates_to),
        },
        "ack_seconds": int(clocks.on_call_ack.total_seconds()),
        "bring_in_after_seconds": int(clocks.on_call_escalate_after.total_seconds()),
        "resolution_seconds": {
            "low": int(clocks.low_severity_resolution.total_seconds()),
            "high": int(clocks.high_severity_resolution.total_seconds()),
        },
        "warning_seconds": int(clocks.resolution_warning.total_seconds()),
        "manager": SUPPORT_MANAGER,
    }


def _freeze(ctx: Ctx, incident: Incident, path: str) -> dict[str, Any]:
    if incident.policy is None:
        incident.policy = {**policy_of(ctx), "path": path}
        record(
            ctx,
            incident,
            "policy_frozen",
            note="escalation path: " + " → ".join(incident.policy["chains"][ON_CALL]),
            data=incident.policy,
        )
    return incident.policy


def decide(ctx: Ctx, key: str, decision: str, *, note: str = "") -> Incident:
    """The Support Manager's next course of action, recorded with who made it."""
    if decision not in DECISIONS:
        raise InvalidInput("decision", "one of " + ", ".join(DECISIONS))
    if ctx.actor != SYSTEM:
        check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "escalation.decide")
    incident = load(ctx, key)
    if Status(incident.status) not in ACTIVE:
        raise IllegalTransition(Action.ESCALATE, state_of(incident))
    if decision == "on_call":
        outcome = triage.playbook_outcome(ctx, incident)
        if outcome not in ("failed", "not_applicable"):
            raise InvalidInput(
                "decision",
                "the On Call Engineer is paged only once the playbook has failed or no playbook "
                f"applies (the playbook outcome is {outcome or 'not recorded'}): record the "
                "playbook's outcome first",
            )
    cancel_timers(ctx, incident, (MANAGER_DECISION,))
    event = record(
        ctx,
        incident,
        "decision",
        note=f"{DECISIONS[decision]}{' — ' + note if note else ''}",
        data={"decision": decision},
    )
    announce.changed(ctx, incident, event, f"{ctx.actor} decided to {DECISIONS[decision]}")
    if decision == "apply_playbook":
        if not triage.playbook_runs(ctx, incident):
            triage.attach_playbooks(ctx, incident)
    elif decision == "no_playbook":
        triage.conclude_playbook(ctx, key, "not_applicable", note=note)
    elif decision == "engineering_manager":
        policy = _freeze(ctx, incident, "engineering_manager")
        target = ctx.process.spec.escalation.low_severity_to
        incidents.escalate(ctx, key, to_role=target, note=note, by_rule=True)
        resolution.start(ctx, incident, policy, "low")
    else:
        policy = _freeze(ctx, incident, "on_call")
        paging.stop_ringing(ctx, incident)
        resolution.start(ctx, incident, policy, "high")
        paging.page_from(ctx, incident, ON_CALL, 0)
    return incident


def escalate(
    ctx: Ctx, key: str, *, to_role: str, to_person: str | None = None, note: str = ""
) -> Incident:
    """A person's escalation: to the On Call Engineer through the Support Manager's decision
    (so the playbook rule holds and pages follow the policy), to the SME or Engineering
    Manager from on call by the one-hour rule's order, anything else as a plain hand-over."""
    spec = ctx.process.spec.escalation
    incident = load(ctx, key)
    if to_role == spec.high_severity_to:
        if to_person is not None:
            raise InvalidInput(
                "person",
                "the On Call Engineer is whoever the rotation says; to page someone else, "
                "the Engineering Manager adds an override",
            )
        return decide(ctx, key, "on_call", note=note)
    if to_role == spec.low_severity_to and incident.policy is None and to_person is None:
        return decide(ctx, key, "engineering_manager", note=note)
    if (
        to_person is None
        and incident.policy is not None
        and to_role in [s.partition(".")[0] for s in incident.policy["chains"][BRING_IN]]
        and Status(incident.status) in ACTIVE
    ):
        return paging.bring_in(ctx, key, note=note, first=to_role)
    return incidents.escalate(ctx, key, to_role=to_role, to_person=to_person, note=note)


def _awaiting_decision(incident: Incident) -> bool:
    return (
        Status(incident.status) in ACTIVE
        and incident.owner_role == SUPPORT_MANAGER
        and incident.policy is None
        and incident.stage != Stage.REMEDIATE  # the manager brought it to the council instead
    )


def on_handed_over(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """Handed to the Support Manager: their decision clock starts (``clocks.manager_decision``);
    handed anywhere else, it stops."""
    cancel_timers(ctx, incident, (MANAGER_DECISION,))
    if _awaiting_decision(incident):
        schedule(
            ctx, incident, MANAGER_DECISION, ctx.now + ctx.process.spec.clocks.manager_decision
        )


def on_decision_due(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """No decision in time: record it, and tell the Support Manager (and the chat) again."""
    if not _awaiting_decision(incident):
        return
    limit = format_duration(ctx.process.spec.clocks.manager_decision)
    event = record(
        ctx,
        incident,
        "decision_overdue",
        note=f"no escalation decision within {limit}",
        data={"due_at": timer.due_at.isoformat(), "clock": "manager_decision"},
    )
    notify(
        ctx,
        incident,
        people=[incident.owner_person]
        if incident.owner_person
        else ctx.process.holders_at(SUPPORT_MANAGER, ctx.now),
        subject=f"Decision overdue ({limit}): {incident.title}",
        body="Decide how it escalates: apply the playbook, the Engineering Manager, or on call.",
        because=event,
    )
    announce.changed(ctx, incident, event, f":warning: no escalation decision within {limit}")
