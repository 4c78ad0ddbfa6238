"""Pages: a person called to an incident through every channel that reaches them, and what
became of it (acknowledged, timed out, skipped, cancelled).

A page goes out as a PagerDuty event of its own (routed to the person's own service key if
they have one, else the incident's service key naming them), a Slack DM, a console message,
and email when neither PagerDuty nor Slack can reach them. Each carries a signed link that
acknowledges the incident as that person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.domain.durations import format_duration
from escalator.process.core import announce, known, signing
from escalator.process.core.context import Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, enqueue, schedule
from escalator.store.ids import next_id
from escalator.store.models import KEY_PREFIX, Incident, OutboxMessage, Page, TimelineEvent, Timer

PERSON_PREFIX = "person:"  # a PagerDuty destination that is a person's own routing key
ACK_TIMEOUT = "escalation.ack_timeout"
BRING_IN = "escalation.bring_in"  # the one-hour rule, armed when an on-call page is acknowledged
PAGE_RANK = 0  # pages leave the outbox before the chatter around them (rank 1)


def ack_url(ctx: Ctx, page: Page) -> str:
    return ctx.links.url(f"/ack/{signing.ack_token(ctx.links.key, page.id, page.person or '')}")


def pagerduty_destination(ctx: Ctx, incident: Incident, person: str) -> str | None:
    contact = ctx.process.person(person)
    if contact is not None and contact.pagerduty_routing_key:
        return PERSON_PREFIX + person
    return announce.pagerduty_service(ctx, incident)


def of(ctx: Ctx, incident: Incident) -> list[Page]:
    """The incident's pages, oldest first."""
    loaded = known.rows(ctx.session, Page, incident.id)
    if loaded is not None:
        return loaded
    return list(
        ctx.session.scalars(select(Page).where(Page.incident_id == incident.id).order_by(Page.id))
    )


def open_page(
    ctx: Ctx,
    incident: Incident,
    *,
    chain: str,
    step: int,
    target: str,
    person: str,
    ack_within: timedelta,
    because: TimelineEvent,
    late_ms: int | None = None,
) -> Page:
    page = _page(ctx, incident, chain, step, target, person=person, state="paging")
    page.ack_due_at, page.late_ms = ctx.now + ack_within, late_ms
    schedule(ctx, incident, ACK_TIMEOUT, ctx.now + ack_within, {"page": page.id})
    _deliver(ctx, incident, page, because, ack_within)
    return page


def skipped(
    ctx: Ctx, incident: Incident, *, chain: str, step: int, target: str, reason: str
) -> Page:
    return _page(ctx, incident, chain, step, target, person=None, state="skipped", reason=reason)


def _page(
    ctx: Ctx,
    incident: Incident,
    chain: str,
    step: int,
    target: str,
    *,
    person: str | None,
    state: str,
    reason: str = "",
) -> Page:
    page = Page(
        id=next_id(ctx.session, Page),  # known before it is written: the links carry it
        incident_id=incident.id,
        chain=chain,
        step=step,
        target=target,
        person=person,
        state=state,
        reason=reason,
        paged_at=ctx.now,
    )
    ctx.session.add(page)
    return page


def _deliver(
    ctx: Ctx, incident: Incident, page: Page, because: TimelineEvent, ack_within: timedelta
) -> None:
    person = page.person or ""
    link = ack_url(ctx, page)
    role = page.target.partition(".")[0]
    subject = f"PAGE: {incident.title} — you are paged as {role}"
    body = (
        f"{incident.key} {incident.title}\n"
        f"Severity: {incident.severity or 'not triaged'}. You are paged as {role} "
        f"(step {page.step + 1} of the escalation). Acknowledge within "
        f"{format_duration(ack_within)}: {link}\n"
        f"Incident: {ctx.links.url('/incidents/' + incident.key)}"
    )
    service = pagerduty_destination(ctx, incident, person)
    if service is not None:
        _pagerduty(ctx, incident, page, service, "trigger", f"page:{page.id}", link)
    dm = announce.direct_message(
        ctx,
        incident,
        person,
        f":rotating_light: {incident.key} {announce.mrkdwn(incident.title)}: you are paged as "
        f"{role}. <{link}|Acknowledge> within {format_duration(ack_within)}.",
        subject=subject,
        key=f"slack:page:{page.id}",
        rank=PAGE_RANK,
        acknowledge=True,
    )
    reached = service is not None or dm
    notify(
        ctx,
        incident,
        people=[person],
        subject=subject,
        body=body,
        because=because,
        email=not reached,
    )


def _pagerduty(
    ctx: Ctx,
    incident: Incident,
    page: Page,
    service: str,
    action: str,
    key: str,
    link: str = "",
) -> None:
    body: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key(incident, page)}
    if action == "trigger":
        body["payload"] = {
            "summary": f"{incident.key} {incident.title} — paging {page.person} ({page.target})"[
                :1024
            ],
            "source": str(incident.details.get("service") or incident.channel)[:255],
            "severity": "critical",
            "timestamp": ctx.now.isoformat(),
            "custom_details": {
                "incident": incident.key,
                "paged": page.person,
                "as": page.target,
                "step": page.step + 1,
                "severity": incident.severity,
            },
        }
        body["client"] = "Escalator"
        if link.startswith(("http://", "https://")):
            body["links"] = [{"href": link, "text": "Acknowledge in Escalator"}]
    enqueue(
        ctx,
        incident=incident,
        channel=announce.PAGERDUTY,
        destination=service,
        subject=f"{action} page {page.id} {incident.key}",
        idempotency_key=f"pagerduty:{key}",
        payload=body,
        rank=PAGE_RANK if action == "trigger" else 1,
    )


def dedup_key(incident: Incident, page: Page) -> str:
    return f"escalator-{incident.key}-page-{page.id}"


def acknowledged(ctx: Ctx, incident: Incident, event: TimelineEvent) -> Page | None:
    """The incident was acknowledged: every page still ringing is answered (by whoever
    acknowledged), its ack clock stops, PagerDuty hears it. Returns the latest such page."""
    ringing = [p for p in of(ctx, incident) if p.state == "paging"]
    for page in ringing:
        page.state, page.acked_at, page.acked_by = "acknowledged", ctx.now, ctx.actor
        service = pagerduty_destination(ctx, incident, page.person or "")
        if service is not None:
            _pagerduty(ctx, incident, page, service, "acknowledge", f"ack:{page.id}:{event.ref}")
    cancel_timers(ctx, incident, (ACK_TIMEOUT,))
    return ringing[-1] if ringing else None


def answered(ctx: Ctx, incident: Incident, page: Page, event: TimelineEvent) -> None:
    """One page answered by its person (help joining): its ack clock stops, PagerDuty hears."""
    page.state, page.acked_at, page.acked_by = "acknowledged", ctx.now, ctx.actor
    service = pagerduty_destination(ctx, incident, page.person or "")
    if service is not None:
        _pagerduty(ctx, incident, page, service, "acknowledge", f"ack:{page.id}:{event.ref}")
    for timer in ctx.session.scalars(
        select(Timer).where(
            Timer.incident_id == incident.id, Timer.kind == ACK_TIMEOUT, Timer.state == "pending"
        )
    ):
        if timer.payload.get("page") == page.id:
            timer.state, timer.fired_at = "cancelled", ctx.now


def closed(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The incident was resolved: ringing pages are cancelled, every page's PagerDuty event
    resolved."""
    for page in of(ctx, incident):
        if page.state == "paging":
            page.state, page.reason = "cancelled", "the incident was resolved"
        if page.person is None:
            continue
        service = pagerduty_destination(ctx, incident, page.person)
        if service is not None:
            _pagerduty(ctx, incident, page, service, "resolve", f"resolve:{page.id}:{event.ref}")


# -- the read side: pages with how each channel's delivery went ----------------------------


@dataclass(frozen=True)
class PageView:
    page: Page
    incident_key: str
    deliveries: dict[str, str]  # channel -> pending | sent | dead
    late: bool

    @property
    def failed(self) -> bool:
        return "dead" in self.deliveries.values()

    @property
    def problem(self) -> bool:
        return self.failed or self.late or self.page.state in ("timed_out", "skipped")


LATE_PAGE_MS = 5000


def page_views(session: Session, pages: list[Page]) -> list[PageView]:
    """Pages with how each channel's delivery went (failed ones are dead letters)."""
    keys = {f"{c}:page:{p.id}": (p.id, c) for p in pages for c in ("pagerduty", "slack")}
    deliveries: dict[int, dict[str, str]] = {p.id: {} for p in pages}
    if keys:
        rows = session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.state).where(
                OutboxMessage.idempotency_key.in_(keys)
            )
        )
        for key, state in rows:
            page_id, channel = keys[key]
            deliveries[page_id][channel] = state
    return [
        PageView(
            p, f"{KEY_PREFIX}-{p.incident_id}", deliveries[p.id], (p.late_ms or 0) > LATE_PAGE_MS
        )
        for p in pages
    ]


def incident_pages(session: Session, incident: Incident) -> list[PageView]:
    query = select(Page).where(Page.incident_id == incident.id).order_by(Page.id)
    return page_views(session, list(session.scalars(query)))


def page_problems(session: Session, limit: int = 50) -> list[PageView]:
    """Recent pages that were late, skipped, not acknowledged in time, or not delivered."""
    recent = list(session.scalars(select(Page).order_by(Page.id.desc()).limit(500)))
    return [v for v in page_views(session, recent) if v.problem][:limit]


def ringing_for(session: Session, person: str, *, limit: int = 20) -> list[tuple[Page, Incident]]:
    """Pages to ``person`` still waiting for an acknowledgement, with their incidents."""
    query = (
        select(Page, Incident)
        .join(Incident, Incident.id == Page.incident_id)
        .where(Page.person == person, Page.state == "paging")
        .order_by(Page.id)
        .limit(limit)
    )
    return [(page, incident) for page, incident in session.execute(query)]


def of_person(session: Session, person: str, limit: int = 50) -> list[PageView]:
    """A person's pages, newest first: the console's "My pages"."""
    rows = session.scalars(
        select(Page).where(Page.person == person).order_by(Page.id.desc()).limit(limit)
    )
    return page_views(session, list(rows))
