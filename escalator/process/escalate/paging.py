"""ESCALATE: paging in turn until someone acknowledges, and the one-hour rule (the on-call
engineer brings in the SME, then the Engineering Manager). Each step pages whoever holds it
at that moment; a step with nobody to page is skipped at once and says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import ACTIVE, Stage, Status
from escalator.domain.permissions import check_escalation
from escalator.domain.roles import ENGINEERING_MANAGER, SUPPORT_MANAGER
from escalator.process.core import announce, incidents, people
from escalator.process.core.context import SYSTEM, Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, load, record, schedule
from escalator.process.escalate import pages
from escalator.store.models import Incident, Page, TimelineEvent, Timer

ON_CALL, BRING_IN = "on_call", "bring_in"  # the two page chains of a policy


def page_from(
    ctx: Ctx, incident: Incident, chain: str, step: int, *, late_ms: int | None = None
) -> Page | None:
    """Page the first reachable step of ``chain`` from ``step`` on. A step with nobody to page
    (nobody on call, or someone this chain already paged) is skipped at once and says so.
    Returns the page, or None when the chain ran out (the managers are told)."""
    policy = incident.policy or {}
    steps: list[str] = policy["chains"][chain]
    already = {p.person for p in pages.of(ctx, incident) if p.chain == chain and p.person}
    asking = incident.owner_person if chain == BRING_IN else None  # not their own help
    ack_within = timedelta(seconds=int(policy["ack_seconds"]))
    for index in range(step, len(steps)):
        target = steps[index]
        person = people.resolve_step(ctx, target)
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
        if chain == BRING_IN:  # help joins as a responder; on call stays in charge
            event = record(ctx, incident, "paging", note=note, data={"role": role})
            announce.changed(ctx, incident, event, f"{ctx.actor}: {note}")
        else:
            event = incidents.hand_over(ctx, incident, role, person, note)
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
        people=people.holders(ctx, SUPPORT_MANAGER) + people.holders(ctx, ENGINEERING_MANAGER),
        subject=f"Nobody acknowledged: {incident.title}",
        body="Every step of the escalation was paged without an acknowledgement.",
        because=event,
    )
    return None


def stop_ringing(ctx: Ctx, incident: Incident) -> None:
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
        people=people.holders(ctx, manager),
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
        check_escalation(ctx.actor, people.roles_of(ctx, ctx.actor), chain[start].partition(".")[0])
    _bring_in(ctx, incident, start, note or f"{ctx.actor} brought in help")
    return incident


def _bring_in(
    ctx: Ctx, incident: Incident, start: int, why: str, late_ms: int | None = None
) -> None:
    stop_ringing(ctx, incident)
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
        or incident.stage == Stage.REMEDIATE  # before the council: the council decides
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


def page_for_ack(ctx: Ctx, page_id: int) -> tuple[Page, Incident]:
    page = ctx.session.get(Page, page_id)
    if page is None:
        raise NotFound(f"no page #{page_id}")
    return page, load(ctx, str(page.incident_id), for_update=False)


def on_acknowledged(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """Pages stop ringing; an answered on-call page arms the one-hour rule."""
    page = pages.acknowledged(ctx, incident, event)
    if page is not None and page.chain == ON_CALL and incident.policy:
        after = timedelta(seconds=int(incident.policy["bring_in_after_seconds"]))
        schedule(ctx, incident, pages.BRING_IN, ctx.now + after, {"page": page.id})


def acknowledge(ctx: Ctx, key: str, *, note: str = "") -> Incident:
    """Acknowledge as the faces mean it: an open incident is acknowledged (its owner takes
    it); an acknowledged one that is paging you for help (the SME, the Engineering Manager)
    takes you on as a responder, and on call stays in charge."""
    incident = load(ctx, key)
    if incident.status == Status.ACKNOWLEDGED:
        ringing = [
            p
            for p in pages.of(ctx, incident)
            if p.state == "paging" and p.person == ctx.actor and p.chain == BRING_IN
        ]
        if ringing:
            join(ctx, incident, ringing[-1], note)
            return incident
    return incidents.acknowledge(ctx, key, note=note)


def join(ctx: Ctx, incident: Incident, page: Page, note: str = "") -> None:
    """``page``'s person answers it and joins the incident as a responder."""
    role = page.target.partition(".")[0]
    event = record(
        ctx,
        incident,
        "joined",
        note=f"{ctx.actor} joined as {role}" + (f" — {note}" if note else ""),
        data={"role": role, "page": page.id},
    )
    pages.answered(ctx, incident, page, event)
    announce.changed(ctx, incident, event, f"{ctx.actor} joined as {role}")
    if incident.owner_person and incident.owner_person != ctx.actor:
        notify(
            ctx,
            incident,
            people=[incident.owner_person],
            subject=f"{ctx.actor} joined as {role}: {incident.title}",
            body=note,
            because=event,
        )


@dataclass(frozen=True)
class Responder:
    person: str
    role: str
    joined_at: datetime | None
    in_charge: bool


def responders(session: Session, incident: Incident) -> list[Responder]:
    """Who works on the incident: its owner (in charge), then everyone who answered a page
    for help, each with the role they came as and when they joined."""
    found: list[Responder] = []
    if incident.owner_person and incident.status != Status.OPEN:  # in charge once acknowledged
        found.append(
            Responder(
                incident.owner_person,
                incident.owner_role or "",
                incident.acknowledged_at,
                True,
            )
        )
    answered = session.scalars(
        select(Page)
        .where(Page.incident_id == incident.id, Page.state == "acknowledged")
        .order_by(Page.acked_at, Page.id)
    )
    for page in answered:
        who = page.acked_by or page.person
        if who and all(r.person != who for r in found):
            found.append(Responder(who, page.target.partition(".")[0], page.acked_at, False))
    return found
