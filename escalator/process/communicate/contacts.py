"""COMMUNICATE: who is owed updates. The customer who wrote, posted or phoned (ALERT publishes
``events.CUSTOMER_HEARD`` with the thread to answer in), the contacts of the incident's
account from the process file, and anyone second tier adds by hand. Every message a contact
sends lands in their ledger; a reply to one of our updates is unread until second tier has
read it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, update

from escalator.domain.email_thread import Thread
from escalator.domain.lifecycle import Status
from escalator.domain.permissions import check_action
from escalator.process.communicate import clock
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.records import load, record, stored_id
from escalator.store.models import Contact, CustomerUpdate, Incident, TimelineEvent

EMAIL = "email"
FORUM = "forum"
PHONE = "phone"
CHANNELS = (EMAIL, FORUM, PHONE)
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def find(ctx: Ctx, incident: Incident, channel: str, address: str) -> Contact | None:
    return ctx.session.scalars(
        select(Contact).where(
            Contact.incident_id == incident.id,
            Contact.channel == channel,
            Contact.address == address,
        )
    ).first()


def _add(
    ctx: Ctx,
    incident: Incident,
    *,
    channel: str,
    address: str,
    name: str,
    source: str,
    thread: dict[str, Any] | None = None,
) -> Contact:
    """The contact reached on ``channel`` at ``address``, added if new (its clock starts now
    when the incident's clock runs)."""
    found = find(ctx, incident, channel, address)
    if found is not None:
        if name and not found.name:
            found.name = name
        return found
    contact = Contact(
        incident_id=incident.id,
        name=name[:200],
        channel=channel,
        address=address[:500],
        source=source,
        thread=thread or {},
        added_by=ctx.actor,
        added_at=ctx.now,
        owed_since=ctx.now if clock.runs(incident) else None,
        # added once resolved: owed the news that it is resolved, like everyone else
        due_at=ctx.now if Status(incident.status) == Status.RESOLVED else None,
    )
    ctx.session.add(contact)
    ctx.session.flush()
    record(
        ctx,
        incident,
        "contact_added",
        note=f"{clock.label(contact)} ({source}, by {channel}) is kept updated",
        data={"contact": contact.id, "channel": channel},
    )
    return contact


def _heard(
    ctx: Ctx, incident: Incident, contact: Contact, event: TimelineEvent, text: str, msgid: str
) -> None:
    """What a contact wrote, in their ledger: unread, unless it opened the incident."""
    opened = event.kind == "opened"
    ctx.session.add(
        CustomerUpdate(
            incident_id=incident.id,
            contact_id=contact.id,
            direction="in",
            kind="report" if opened else "reply",
            by=contact.address[:200],
            body=text,
            created_at=ctx.now,
            state="received",
            message_id=msgid or None,
            event_id=stored_id(ctx, event),
            read_at=ctx.now if opened else None,
            read_by="first_tier" if opened else None,
        )
    )


def on_heard(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """A customer wrote, posted or phoned: they are a contact, answered on that channel."""
    data = event.data
    if isinstance(data.get("email"), dict):
        mail = data["email"]
        thread = Thread.of_message(
            str(mail.get("subject", "")),
            str(mail.get("message_id", "")),
            tuple(mail.get("references") or ()),
            tuple(mail.get("in_reply_to") or ()),
        )
        contact = _add(
            ctx,
            incident,
            channel=EMAIL,
            address=str(mail["from"]).lower(),
            name=str(mail.get("name", "")),
            source="customer",
            thread=thread.as_dict(),
        )
        if thread.parent:  # their newest message is what our next update answers
            subject = Thread.from_dict(contact.thread).subject or thread.subject
            contact.thread = Thread(subject, thread.parent, thread.references).as_dict()
        _heard(ctx, incident, contact, event, str(mail.get("text", "")), thread.parent)
    elif isinstance(data.get("forum"), dict):
        post = data["forum"]
        contact = _add(
            ctx,
            incident,
            channel=FORUM,
            address=f"{post['source']}:{post['topic']}",
            name=str(post.get("author", "")),
            source="customer",
            thread={"url": post.get("url", ""), "title": post.get("title", "")},
        )
        _heard(ctx, incident, contact, event, str(post.get("text", "")), "")
    elif isinstance(data.get("report"), dict):
        _reported(ctx, incident, event, data["report"])
    clock.replan(ctx, incident)


def _reported(ctx: Ctx, incident: Incident, event: TimelineEvent, heard: dict[str, Any]) -> None:
    """A report taken by hand: the caller is kept updated by email when the contact given is
    an address, else by phone (at the number given, or by name: someone to call back)."""
    caller, reach = str(heard.get("caller", "")), str(heard.get("contact", "")).strip()
    if _ADDRESS.match(reach):
        contact = _add(
            ctx,
            incident,
            channel=EMAIL,
            address=reach.lower(),
            name=caller,
            source="customer",
            thread=Thread(f"[{incident.key}] {incident.title}").as_dict(),
        )
    elif reach or caller:
        contact = _add(
            ctx,
            incident,
            channel=PHONE,
            address=reach or caller,
            name=caller,
            source="customer",
        )
    else:
        return
    _heard(ctx, incident, contact, event, incident.description, "")


def on_opened(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """The contacts of the incident's account (``accounts.NAME.contacts``) are affected."""
    account = ctx.process.spec.accounts.get(str(incident.details.get("account", "")))
    if account is None or not account.contacts:
        return
    for person in account.contacts:
        if person.email:
            _add(
                ctx,
                incident,
                channel=EMAIL,
                address=person.email.lower(),
                name=person.name,
                source="account",
                thread=Thread(f"[{incident.key}] {incident.title}").as_dict(),
            )
        elif person.phone:
            _add(
                ctx,
                incident,
                channel=PHONE,
                address=person.phone,
                name=person.name,
                source="account",
            )
    clock.replan(ctx, incident)


def add(
    ctx: Ctx, key: str, *, name: str = "", email: str | None = None, phone: str | None = None
) -> Contact:
    """Add someone to keep updated, by email (a new thread) or by phone."""
    check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "customer.update")
    email, phone, name = (email or "").strip(), (phone or "").strip(), name.strip()
    if not email and not phone:
        raise InvalidInput(
            "contact", "a contact needs a channel: give an email address or a phone number"
        )
    if email and not _ADDRESS.match(email):
        raise InvalidInput("email", f"{email!r} is not an email address, like ann@acme.com")
    if phone and not re.fullmatch(r"\+?[\d\s().-]{5,40}", phone):
        raise InvalidInput("phone", f"{phone!r} is not a phone number, like +44 20 7946 0000")
    incident = load(ctx, key)
    channel, address = (EMAIL, email.lower()) if email else (PHONE, phone)
    if find(ctx, incident, channel, address) is not None:
        raise InvalidInput("contact", f"{address} is already a contact of {incident.key}")
    thread = Thread(f"[{incident.key}] {incident.title}").as_dict() if channel == EMAIL else {}
    contact = _add(
        ctx,
        incident,
        channel=channel,
        address=address,
        name=name,
        source="manual",
        thread=thread,
    )
    clock.replan(ctx, incident)
    return contact


def mark_read(ctx: Ctx, key: str) -> int:
    """Second tier has read the customers' replies; returns how many were unread."""
    check_action(ctx.actor, ctx.process.roles_of(ctx.actor), "customer.update")
    incident = load(ctx, key)
    result = ctx.session.execute(
        update(CustomerUpdate)
        .where(
            CustomerUpdate.incident_id == incident.id,
            CustomerUpdate.direction == "in",
            CustomerUpdate.read_at.is_(None),
        )
        .values(read_at=ctx.now, read_by=ctx.actor),
        execution_options={"synchronize_session": "fetch"},
    )
    return int(getattr(result, "rowcount", 0) or 0)
