"""COMMUNICATE: sending an update to the incident's contacts.

Email goes as a reply in the customer's own thread (``In-Reply-To``/``References`` to their
newest message, "Re:" and their subject, a Message-ID we keep so that their answer threads
back); a forum update is a post in their Discourse topic; a phone update is a call made,
logged with its notes. Email and forum updates are outbox messages, queued with the ledger
entry in one transaction: the entry is ``pending`` until the delivery receipt marks it
``sent`` (nothing counts as told before it was), and a dead letter shows it failed. Once
told, the contact's clock starts again from the update, or from its promise if sooner; the
update goes on the timeline and, through ``events.CUSTOMER_UPDATED``, on the ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from escalator.domain.cadence import NextUpdateError, parse_next
from escalator.domain.email_thread import Thread, reply_subject
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.domain.permissions import check_action
from escalator.process.communicate import clock, drafts
from escalator.process.communicate.contacts import EMAIL, FORUM, PHONE
from escalator.process.core import announce, events, refs
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.records import enqueue, load, one_line, record, stored_id
from escalator.store.models import Contact, CustomerUpdate, Incident

CUSTOMER_EMAIL = "customer_email"  # the outbox channel of email to customers
DISCOURSE = "discourse"  # the outbox channel of posts to the support forum
SENT = "customer.update.sent"  # the delivery receipt that marks an update told
DISCOURSE_SOURCE = "discourse:"
NEXT_HINT = "give next as 30m, 1h, 14:30 or 2026-11-02T14:30Z"
_HOW = {EMAIL: "by email", FORUM: "on the forum", PHONE: "by phone"}


def send(
    ctx: Ctx,
    key: str,
    *,
    text: str,
    next_update: str | None = None,
    to: Sequence[str] | None = None,
) -> list[CustomerUpdate]:
    """Send ``text`` to the incident's contacts (all, or those ``to`` names by id, address
    or name), promising the next update at ``next_update`` — required while it is open."""
    check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "customer.update")
    incident = load(ctx, key)
    body = text.strip()
    if not body:
        raise InvalidInput("text", "the update is empty: write what the customer should read")
    if len(body) > 20000:
        raise InvalidInput("text", "the update is longer than 20,000 characters: shorten it")
    if Status(incident.status) == Status.CLOSED:
        raise InvalidInput("incident", f"{incident.key} is closed: reopen it to write again")
    contacts = chosen(ctx, incident, to)
    open_ = Status(incident.status) in ACTIVE
    promise = None
    if next_update and next_update.strip():
        try:
            promise = parse_next(next_update, ctx.now, drafts.timezone_of(ctx.process, incident))
        except NextUpdateError as exc:
            raise InvalidInput("next", str(exc)) from exc
    elif open_:
        raise InvalidInput(
            "next",
            f"{incident.key} is {incident.status}, so the update must say when the next one "
            f"comes: {NEXT_HINT}",
        )
    for contact in contacts:
        _check_reachable(ctx, contact)
    kind = "update" if open_ else "resolution"
    sent_text = drafts.with_promise(ctx.process, incident, body, promise)
    names = ", ".join(clock.label(c) for c in contacts)
    event = record(
        ctx,
        incident,
        "customer_update",
        note=f"{kind} to {names}: {one_line(body, 300)}",
        data={
            "contacts": [c.id for c in contacts],
            "kind": kind,
            "next_update_at": promise.isoformat() if promise else None,
        },
    )
    event_id = stored_id(ctx, event)
    return [_queue(ctx, incident, c, event_id, sent_text, promise, kind) for c in contacts]


def chosen(ctx: Ctx, incident: Incident, to: Sequence[str] | None) -> list[Contact]:
    """The contacts ``to`` names (by id, address or name), or every contact."""
    contacts = clock.contacts_of(ctx, incident)
    if not contacts:
        raise InvalidInput(
            "contact", f"{incident.key} has no contacts to update: add one (email or phone) first"
        )
    wanted = [t.strip() for t in to or () if t.strip()]
    if not wanted:
        return contacts
    picked: dict[int, Contact] = {}
    for name in wanted:
        match = [c for c in contacts if name.lower() in _names(c)]
        if not match:
            known = "; ".join(f"{c.id} {clock.label(c)}" for c in contacts)
            raise InvalidInput(
                "contact", f"{incident.key} has no contact {name!r}: its contacts are {known}"
            )
        picked.update({c.id: c for c in match})
    return list(picked.values())


def _names(contact: Contact) -> set[str]:
    names = {str(contact.id), contact.address.lower()}
    if contact.name:
        names.add(contact.name.lower())
    if contact.channel == FORUM:
        names.add(contact.address.rsplit(":", 1)[-1])
    return names


def _check_reachable(ctx: Ctx, contact: Contact) -> None:
    """Refuse what could never be delivered, saying what to set up instead."""
    who = clock.label(contact)
    if contact.channel == EMAIL and not ctx.channels.email:
        raise InvalidInput(
            "contact",
            f"{who} is kept updated by email, and outgoing email is not set up: "
            "set ESCALATOR_SMTP_URL (and ESCALATOR_SUPPORT_EMAIL)",
        )
    if contact.channel == FORUM:
        if not contact.address.startswith(DISCOURSE_SOURCE):
            raise InvalidInput(
                "contact",
                f"{who} came through the generic forum integration, and Escalator posts only "
                "to Discourse: answer in the forum yourself",
            )
        if not ctx.channels.discourse:
            raise InvalidInput(
                "contact",
                f"{who} is on the forum, and posting to Discourse is not set up: set "
                "ESCALATOR_DISCOURSE_URL, ESCALATOR_DISCOURSE_API_KEY and "
                "ESCALATOR_DISCOURSE_API_USERNAME",
            )


def _queue(
    ctx: Ctx,
    incident: Incident,
    contact: Contact,
    event_id: int,
    text: str,
    promise: datetime | None,
    kind: str,
) -> CustomerUpdate:
    """The ledger entry and, for email and the forum, its outbox message."""
    row = CustomerUpdate(
        incident_id=incident.id,
        contact_id=contact.id,
        direction="out",
        kind=kind,
        by=ctx.actor,
        body=text,
        created_at=ctx.now,
        state="pending",
        next_update_at=promise,
        owed_by=contact.due_at,
        event_id=event_id,
    )
    ctx.session.add(row)
    ctx.session.flush()
    if contact.channel == PHONE:  # the call was made: nothing to send
        delivered(ctx, incident, row, {})
        return row
    idempotency_key = f"customer:{event_id}:{contact.id}"
    payload: dict[str, Any] = {"receipt": SENT, "update": row.id, "incident": incident.key}
    if contact.channel == EMAIL:
        thread = Thread.from_dict(contact.thread)
        subject = thread.subject or f"[{incident.key}] {incident.title}"
        row.message_id = make_msgid(domain=ctx.channels.email_domain)
        refs.remember(ctx, incident, refs.EMAIL, refs.email_ref(row.message_id))
        message = enqueue(
            ctx,
            incident=incident,
            channel=CUSTOMER_EMAIL,
            destination=contact.address,
            subject=reply_subject(subject) if thread.parent else subject,
            body=text,
            idempotency_key=idempotency_key,
            payload={
                **payload,
                "message_id": row.message_id,
                "headers": thread.reply_headers(),
                "html": drafts.email_html(ctx.process, incident, text),
            },
        )
    else:
        topic = contact.address.rsplit(":", 1)[-1]
        message = enqueue(
            ctx,
            incident=incident,
            channel=DISCOURSE,
            destination=topic,
            subject=f"reply in topic {topic}",
            body=text,
            idempotency_key=idempotency_key,
            payload={**payload, "topic_id": int(topic) if topic.isdigit() else topic},
        )
    ctx.session.flush()
    row.outbox_id = message.id
    return row


def on_sent(ctx: Ctx, payload: dict[str, Any], result: dict[str, Any]) -> None:
    """Delivery receipt of an email or a forum post: the contact has been told."""
    row = ctx.session.get(CustomerUpdate, int(payload.get("update", 0)))
    if row is None or row.state == "sent":
        return
    incident = ctx.session.get(Incident, row.incident_id, with_for_update=ctx.is_postgres)
    if incident is not None:
        delivered(ctx, incident, row, result)


def delivered(ctx: Ctx, incident: Incident, row: CustomerUpdate, result: dict[str, Any]) -> None:
    """The update reached the contact: the ledger says so, their clock starts again."""
    contact = ctx.session.get(Contact, row.contact_id)
    assert contact is not None
    since = contact.last_told_at or contact.owed_since
    row.state, row.sent_at, row.severity = "sent", ctx.now, incident.severity
    row.since_last_seconds = int((ctx.now - since).total_seconds()) if since else None
    if result.get("post_id"):
        row.external_ref = str(result["post_id"])
    contact.last_told_at, contact.promised_at = ctx.now, row.next_update_at
    if contact.channel == EMAIL and row.message_id:
        contact.thread = Thread.from_dict(contact.thread).after_reply(row.message_id).as_dict()
    who = clock.label(contact)
    event = record(
        ctx,
        incident,
        "customer_told",
        note=f"{who} told {_HOW[contact.channel]}: {one_line(row.body, 300)}",
        actor=row.by,
        data={
            "update": row.id,
            "contact": contact.id,
            "kind": row.kind,
            "next_update_at": row.next_update_at.isoformat() if row.next_update_at else None,
        },
    )
    if Status(incident.status) in ACTIVE:
        clock.replan(ctx, incident)
    else:
        contact.due_at = None  # the final update: nothing more is owed
    announce.changed(ctx, incident, event, f":outbox_tray: {who} told {_HOW[contact.channel]}")
    events.publish(replace(ctx, actor=row.by), events.CUSTOMER_UPDATED, incident, event)
