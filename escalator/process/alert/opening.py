"""ALERT: an incident opens and on-duty first-tier support is told."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select

from escalator.domain import lifecycle
from escalator.domain.accounts import as_details, match_account
from escalator.domain.roles import FIRST_TIER
from escalator.process.core import announce, events
from escalator.process.core.context import Ctx
from escalator.process.core.notify import notify
from escalator.process.core.records import record
from escalator.store.models import Incident, TimelineEvent

Source = Literal["alarm", "customer"]
CUSTOMER_CHANNELS = ("phone", "email", "forum", "manual")


def open_incident(
    ctx: Ctx,
    *,
    title: str,
    source: Source,
    channel: str,
    description: str = "",
    details: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Incident:
    """Open an incident owned by first tier, start its triage clock and notify first tier.
    ``data`` goes on the "opened" timeline event beside the details (how the customer
    reached us, for the stages that answer them)."""
    state = lifecycle.initial_state(owner_role=FIRST_TIER, owner_person=None)
    incident = Incident(
        title=title,
        description=description,
        source=source,
        channel=channel,
        status=state.status.value,
        stage=state.stage.value,
        owner_role=state.owner_role,
        owner_person=state.owner_person,
        reporter=ctx.actor,
        details=details or {},
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(incident)
    ctx.session.flush()
    event = record(
        ctx,
        incident,
        "opened",
        note=f"{source} via {channel}",
        data={"details": incident.details, **(data or {})},
    )
    events.publish(ctx, events.OPENED, incident, event)  # TRIAGE starts
    on_duty = ctx.process.holders_at(FIRST_TIER, ctx.now)
    notify(
        ctx,
        incident,
        people=on_duty,
        subject=f"New {source} incident: {title}",
        body=description,
        because=event,
    )
    announce.opened(ctx, incident, event)
    return incident


def opened_event(ctx: Ctx, incident: Incident) -> TimelineEvent:
    """The incident's "opened" timeline event."""
    return ctx.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind == "opened")
        .order_by(TimelineEvent.id)
        .limit(1)
    ).one()


def report(
    ctx: Ctx,
    *,
    title: str,
    description: str = "",
    channel: str = "phone",
    caller: str | None = None,
    account: str | None = None,
    contact: str | None = None,
) -> Incident:
    """A customer report taken by hand (phone call, or typed in from elsewhere). The caller
    was heard (``events.CUSTOMER_HEARD``): COMMUNICATE keeps them updated by phone, or by
    email when the contact given is an address."""
    details = {
        k: v for k, v in {"caller": caller, "account": account, "contact": contact}.items() if v
    }
    details.update(as_details(match_account(ctx.process.accounts, named=account, email=contact)))
    heard = {"caller": caller or "", "contact": contact or "", "channel": channel}
    incident = open_incident(
        ctx,
        title=title,
        source="customer",
        channel=channel,
        description=description,
        details=details,
        data={"report": heard},
    )
    events.publish(ctx, events.CUSTOMER_HEARD, incident, opened_event(ctx, incident))
    return incident
