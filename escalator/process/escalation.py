"""ESCALATE: the Support Manager's decision, paging in turn until someone answers, the
one-hour rule, and the resolution clocks.

When an incident starts escalating, the path is frozen on it (``Incident.policy``): the page
order, the one-hour rule's order, and every clock. Editing the process file changes later
incidents only. The resolution clock keeps running after acknowledgement; only resolving
stops it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Action, IllegalTransition, Status
from escalator.domain.permissions import check_action, check_escalation
from escalator.domain.roles import ENGINEERING_MANAGER, SUPPORT_MANAGER
from escalator.process import announce, incident_actions, oncall, pages, playbooks
from escalator.process.context import SYSTEM, Ctx
from escalator.process.errors import InvalidInput, NotFound
from escalator.process.notify import notify
from escalator.process.records import cancel_timers, load, record, schedule, state_of
from escalator.store.models import Incident, Page, Timer

DECISIONS = {
    "apply_playbook": "apply the playbook",
    "no_playbook": "record that no playbook applies",
    "engineering_manager": "escalate to the Engineering Manager (low severity)",
    "on_call": "escalate to the On Call Engineer (high severity)",
}
ON_CALL, BRING_IN = "on_call", "bring_in"  # the two page chains of a policy
RESOLUTION_WARNING = "resolution.warning"
RESOLUTION_DEADLINE = "resolution.deadline"
RESOLUTION_TIMERS = (RESOLUTION_WARNING, RESOLUTION_DEADLINE)


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
        outcome = playbooks.outcome(ctx, incident)
        if outcome not in ("failed", "not_applicable"):
            raise InvalidInput(
                "decision",
                "the On Call Engineer is paged only once the playbook has failed or no playbook "
                f"applies (the playbook outcome is {outcome or 'not recorded'}): record the "
                "playbook's outcome first",
            )
    event = record(
        ctx,
        incident,
        "decision",
        note=f"{DECISIONS[decision]}{' — ' + note if note else ''}",
        data={"decision": decision},
    )
    announce.changed(ctx, incident, event, f"{ctx.actor} decided to {DECISIONS[decision]}")
    if decision == "apply_playbook":
        if not playbooks.runs_of(ctx, incident):
            playbooks.attach_matching(ctx, incident)
    elif decision == "no_playbook":
        playbooks.conclude(ctx, key, "not_applicable", note=note)
    elif decision == "engineering_manager":
        policy = _freeze(ctx, incident, "engineering_manager")
        target = ctx.process.spec.escalation.low_severity_to
        incident_actions.escalate(ctx, key, to_role=target, note=note, by_rule=True)
        _start_resolution_clock(ctx, incident, policy, "low")
    else:
        policy = _freeze(ctx, incident, "on_call")
        _stop_ringing(ctx, incident)
        _start_resolution_clock(ctx, incident, policy, "high")
        page_from(ctx, incident, ON_CALL, 0)
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
        return bring_in(ctx, key, note=note, first=to_role)
    return incident_actions.escalate(ctx, key, to_role=to_role, to_person=to_person, note=note)


def page_from(
    ctx: Ctx, incident: Incident, chain: str, step: int, *, late_ms: int | None = None
) -> Page | None:
    """Page the first reachable step of ``chain`` from ``step`` on. A step with nobody to page
    (nobody on call, or someone this chain already paged) is skipped at once and says so.
    Returns the page, or None when the chain ran out (the managers are told)."""
    policy = incident.policy or {}
    steps: list[str] = policy["chains"][chain]
    already = {
        p.person
        for p in ctx.session.scalars(
            select(Page).where(Page.incident_id == incident.id, Page.chain == chain)
        )
        if p.person
    }
    asking = incident.owner_person if chain == BRING_IN else None  # not their own help
    ack_within = timedelta(seconds=int(policy["ack_seconds"]))
    for index in range(step, len(steps)):
        target = steps[index]
        person = oncall.resolve_step(ctx, target)
        if person is None or person in already or person == asking:
            if person is None:
                reason = f"nobody holds {target} now"
            elif person == asking:
                reason = f"{person} already has the incident"
            else:
                reason = f"{person} was already paged in this escalation"
            pages.skipped(ctx, incident, chain=chain, step=index, target=target, reason=reason)
            event = record(
                ctx, incident, "page_skipped", note=f"step {index + 1} ({target}): {reason}"
            )
            announce.changed(
                ctx, incident, event, f":fast_forward: step {index + 1} skipped: {reason}"
            )
            continue
        role = target.partition(".")[0]
        note = (
            f"paging {person} as {target} (step {index + 1} of {len(steps)}); "
            f"acknowledge within {format_duration(ack_within)}"
        )
        event = incident_actions.hand_over(ctx, incident, role, person, note)
        return pages.open_page(
            ctx,
            incident,
            chain=chain,
            step=index,
            target=target,
            person=person,
            ack_within=ack_within,
            because=event,
            late_ms=late_ms,
        )
    event = record(
        ctx,
        incident,
        "escalation_exhausted",
        note=f"nobody acknowledged: every step of {chain} was tried",
    )
    announce.changed(ctx, incident, event, ":sos: nobody acknowledged; every step was paged")
    notify(
        ctx,
        incident,
        people=oncall.holders(ctx, SUPPORT_MANAGER) + oncall.holders(ctx, ENGINEERING_MANAGER),
        subject=f"Nobody acknowledged: {incident.title}",
        body="Every step of the escalation was paged without an acknowledgement.",
        because=event,
    )
    return None


def _stop_ringing(ctx: Ctx, incident: Incident) -> None:
    for page in pages.of(ctx, incident):
        if page.state == "paging":
            page.state, page.reason = "cancelled", "a new escalation replaced it"
    cancel_timers(ctx, incident, (pages.ACK_TIMEOUT, pages.BRING_IN))


def on_ack_timeout(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """Nobody answered in time: the next step is paged and the manager told."""
    page = ctx.session.get(Page, int(timer.payload.get("page", 0)))
    if page is None or page.state != "paging" or Status(incident.status) not in ACTIVE:
        return
    page.state = "timed_out"
    waited = format_duration(page.ack_due_at - page.paged_at) if page.ack_due_at else "in time"
    page.reason = f"not acknowledged within {waited}"
    event = record(
        ctx,
        incident,
        "page_timed_out",
        note=f"{page.person} did not acknowledge within {waited}; paging the next step",
        data={"page": page.id},
    )
    manager = (incident.policy or {}).get("manager", SUPPORT_MANAGER)
    notify(
        ctx,
        incident,
        people=oncall.holders(ctx, manager),
        subject=f"{page.person} did not acknowledge within {waited}: {incident.title}",
        body="The next person in the escalation is being paged.",
        because=event,
    )
    page_from(ctx, incident, page.chain, page.step + 1, late_ms=timer.late_ms)


def bring_in(ctx: Ctx, key: str, *, note: str = "", first: str | None = None) -> Incident:
    """The one-hour rule by hand: the on-call engineer brings in the next of the policy's
    order (the SME, then the Engineering Manager)."""
    incident = load(ctx, key)
    if incident.policy is None:
        raise InvalidInput("escalation", f"{incident.key} is not escalating to on call yet")
    chain = incident.policy["chains"][BRING_IN]
    start = 0
    if first is not None:
        roles = [s.partition(".")[0] for s in chain]
        start = roles.index(first)
    if ctx.actor != SYSTEM:
        check_escalation(ctx.actor, oncall.roles_of(ctx, ctx.actor), chain[start].partition(".")[0])
    _bring_in(ctx, incident, start, note or f"{ctx.actor} brought in help")
    return incident


def _bring_in(
    ctx: Ctx, incident: Incident, start: int, why: str, late_ms: int | None = None
) -> None:
    _stop_ringing(ctx, incident)
    event = record(ctx, incident, "bring_in", note=why)
    if incident.owner_person:
        notify(
            ctx,
            incident,
            people=[incident.owner_person],
            subject=f"Bringing in help: {incident.title}",
            body=why,
            because=event,
        )
    page_from(ctx, incident, BRING_IN, start, late_ms=late_ms)


def on_bring_in(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """The one-hour rule: acknowledged but not resolved an hour on, bring in the SME or EM."""
    on_call = ctx.process.spec.escalation.high_severity_to
    if (
        incident.status != Status.ACKNOWLEDGED
        or incident.policy is None
        or incident.owner_role != on_call  # handed on since; the rule is on call's
    ):
        return
    after = format_duration(timedelta(seconds=int(incident.policy["bring_in_after_seconds"])))
    _bring_in(
        ctx,
        incident,
        0,
        f"acknowledged {after} ago and not resolved: bringing in "
        + " or ".join(incident.policy["chains"][BRING_IN]),
        late_ms=timer.late_ms,
    )


# -- resolution clocks -------------------------------------------------------------------


def _start_resolution_clock(
    ctx: Ctx, incident: Incident, policy: dict[str, Any], level: str
) -> None:
    cancel_timers(ctx, incident, RESOLUTION_TIMERS)
    due = ctx.now + timedelta(seconds=int(policy["resolution_seconds"][level]))
    warning = timedelta(seconds=int(policy["warning_seconds"]))
    incident.resolution_due_at = due
    schedule(ctx, incident, RESOLUTION_DEADLINE, due, {"level": level})
    if due - warning > ctx.now:
        schedule(ctx, incident, RESOLUTION_WARNING, due - warning, {"level": level})
    record(
        ctx,
        incident,
        "resolution_clock",
        note=f"{level} severity: resolve by {due:%Y-%m-%d %H:%M} UTC",
        data={"level": level, "due_at": due.isoformat()},
    )


def _owners(ctx: Ctx, incident: Incident) -> list[str]:
    if incident.owner_person:
        return [incident.owner_person]
    return oncall.holders(ctx, incident.owner_role) if incident.owner_role else []


def on_resolution_warning(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    if Status(incident.status) not in ACTIVE or incident.resolution_due_at is None:
        return
    left = format_duration(incident.resolution_due_at - timer.due_at)
    event = record(ctx, incident, "resolution_warning", note=f"{left} left to resolve")
    notify(
        ctx,
        incident,
        people=_owners(ctx, incident),
        subject=f"{left} left to resolve: {incident.title}",
        because=event,
    )
    announce.changed(ctx, incident, event, f":hourglass: {left} left to resolve")


def on_resolution_deadline(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    """Out of time: the breach is recorded; the owner and both managers are told."""
    if Status(incident.status) not in ACTIVE:
        return
    level = str(timer.payload.get("level", ""))
    event = record(
        ctx,
        incident,
        "resolution_breached",
        note=f"not resolved within the {level} severity time",
        data={"due_at": timer.due_at.isoformat(), "level": level},
    )
    people = (
        _owners(ctx, incident)
        + oncall.holders(ctx, SUPPORT_MANAGER)
        + oncall.holders(ctx, ENGINEERING_MANAGER)
    )
    notify(
        ctx, incident, people=people, subject=f"Resolution overdue: {incident.title}", because=event
    )
    announce.changed(ctx, incident, event, ":warning: resolution overdue")


def page_for_ack(ctx: Ctx, page_id: int) -> tuple[Page, Incident]:
    page = ctx.session.get(Page, page_id)
    if page is None:
        raise NotFound(f"no page #{page_id}")
    return page, load(ctx, str(page.incident_id), for_update=False)
