"""Telling people: one outbox row per person and channel, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from escalator.process.core import announce
from escalator.process.core.context import Ctx
from escalator.process.core.records import enqueue
from escalator.store.models import Incident, TimelineEvent

CONSOLE = "console"
EMAIL = "email"


def notify(
    ctx: Ctx,
    incident: Incident,
    *,
    people: Iterable[str],
    subject: str,
    body: str = "",
    because: TimelineEvent,
    email: bool = True,
) -> int:
    """Queue ``subject`` for each person; ``because`` makes the message's idempotency key.

    Every message goes to the console channel, which the web console shows; with outgoing
    email configured (and ``email`` left on), each person is emailed too. Returns how many
    messages were queued.
    """
    count = 0
    for person in dict.fromkeys(people):  # each person once, in order
        destinations = [(CONSOLE, person)]
        contact = ctx.process.person(person)
        if email and ctx.channels.email and contact is not None:
            destinations.append((EMAIL, contact.email))
        for channel, destination in destinations:
            enqueue(
                ctx,
                incident=incident,
                channel=channel,
                destination=destination,
                subject=f"[{incident.key}] {subject}",
                body=body,
                idempotency_key=f"{channel}:{because.ref}:{person}",
                payload={"event": because.kind, "incident": incident.key},
            )
            count += 1
    return count


def tell(
    ctx: Ctx,
    person: str,
    subject: str,
    *,
    body: str = "",
    key: str,
    incident: Incident | None = None,
    slack: str | None = None,
) -> None:
    """Tell one person something that is not an incident's chatter (an agenda, a reminder):
    the console, email where configured, and a Slack DM of ``slack`` (plain text, escaped
    here) where they have a Slack id. ``key`` makes each message's idempotency key."""
    destinations = [(CONSOLE, person)]
    contact = ctx.process.person(person)
    if ctx.channels.email and contact is not None:
        destinations.append((EMAIL, contact.email))
    for channel, destination in destinations:
        enqueue(
            ctx,
            incident=incident,
            channel=channel,
            destination=destination,
            subject=subject,
            body=body,
            idempotency_key=f"{key}:{channel}:{person}",
        )
    text = announce.mrkdwn(slack if slack is not None else subject)
    announce.direct_message(
        ctx, incident, person, text, subject=subject, key=f"{key}:{announce.SLACK}:{person}"
    )
