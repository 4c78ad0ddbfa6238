"""ALERT from customers: email and the support forum. A reply or a later post lands on the
incident it belongs to; a new one opens an incident and tells first tier in #support. Either
way the customer was heard (``events.CUSTOMER_HEARD``), with the thread to answer them in.

A reply is found by its references (``core.refs``), which also hold the Message-IDs of the
updates we sent: a customer answering one of them lands on its incident too."""

from __future__ import annotations

from typing import Any

from escalator.domain.accounts import as_details, match_account
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.integrations.inbound.email import InboundEmail
from escalator.integrations.inbound.forum import ForumPost
from escalator.process.alert import opening
from escalator.process.core import announce, events, refs
from escalator.process.core.context import Ctx
from escalator.process.core.evidence import attach
from escalator.process.core.records import record
from escalator.store.models import Incident

EMAIL_REF = refs.EMAIL
FORUM_REF = refs.FORUM


def _by_ref(ctx: Ctx, kind: str, ids: tuple[str, ...] | list[str]) -> Incident | None:
    return refs.find(ctx, kind, ids)


def _remember(ctx: Ctx, incident: Incident, kind: str, ref: str) -> None:
    refs.remember(ctx, incident, kind, ref)


def _email_heard(mail: InboundEmail) -> dict[str, Any]:
    """What COMMUNICATE needs to answer in the customer's own thread."""
    return {
        "email": {
            "from": mail.sender,
            "name": mail.sender_name,
            "subject": mail.subject,
            "message_id": mail.header_message_id,
            "references": list(mail.header_references),
            "in_reply_to": list(mail.header_in_reply_to),
            "text": mail.text[:4000],
        }
    }


def _forum_heard(post: ForumPost, source: str) -> dict[str, Any]:
    return {
        "forum": {
            "source": source,
            "topic": post.thread,
            "author": post.author,
            "url": post.url,
            "title": post.title,
            "text": post.text[:4000],
        }
    }


def receive_email(ctx: Ctx, mail: InboundEmail, *, max_attachment_bytes: int) -> Incident | None:
    """Open an incident for a new email, or add a reply to its incident. Automatic mail
    (out-of-office, bounces) is ignored so that mail loops cannot open incidents."""
    if mail.automatic:
        return None
    seen = _by_ref(ctx, EMAIL_REF, [mail.message_id]) if mail.message_id else None
    if seen is not None:
        return seen  # the same email delivered twice
    names = [a.filename for a in mail.attachments]
    incident = _by_ref(ctx, EMAIL_REF, mail.references)
    if incident is not None:
        event = record(
            ctx,
            incident,
            "customer_email",
            note=f"{mail.sender}: {mail.subject}\n{mail.text[:4000]}",
            data={"from": mail.sender, "attachments": names, **_email_heard(mail)},
        )
        announce.changed(ctx, incident, event, f":email: {mail.sender} replied: {mail.text[:300]}")
        if Status(incident.status) not in ACTIVE:
            record(ctx, incident, "customer_wrote_after_resolution", note="consider reopening")
    else:
        account = match_account(ctx.process.accounts, email=mail.sender)
        details = {"from": mail.sender, "subject": mail.subject, **as_details(account)}
        if mail.sender_name:
            details["caller"] = mail.sender_name
        if names:
            details["attachments"] = names
        incident = opening.open_incident(
            ctx,
            title=mail.subject,
            source="customer",
            channel="email",
            description=mail.text[:20000],
            details=details,
            data=_email_heard(mail),
        )
        event = opening.opened_event(ctx, incident)
    _remember(ctx, incident, EMAIL_REF, mail.message_id)
    events.publish(ctx, events.CUSTOMER_HEARD, incident, event)
    for item in mail.attachments:
        attach(
            ctx,
            incident,
            filename=item.filename,
            content_type=item.content_type,
            data=item.data,
            source="email",
            max_bytes=max_attachment_bytes,
        )
    return incident


def receive_forum_post(ctx: Ctx, post: ForumPost, *, source: str) -> Incident:
    """A new topic opens an incident; later posts in the topic go on its timeline."""
    incident = _by_ref(ctx, FORUM_REF, [f"{source}:{post.thread}"])
    if incident is not None:
        if post.starts_thread and post.text and not incident.description:
            incident.description = post.text[:20000]
            return incident
        event = record(
            ctx,
            incident,
            "customer_post",
            note=f"{post.author}: {post.text[:4000]}",
            data={"url": post.url, "author": post.author, **_forum_heard(post, source)},
        )
        announce.changed(
            ctx, incident, event, f":speech_balloon: {post.author} posted: {post.text[:300]}"
        )
        events.publish(ctx, events.CUSTOMER_HEARD, incident, event)
        return incident
    account = match_account(ctx.process.accounts, named=post.account, forum_user=post.author)
    details = {"forum_user": post.author, "url": post.url, **as_details(account)}
    incident = opening.open_incident(
        ctx,
        title=post.title,
        source="customer",
        channel="forum",
        description=post.text[:20000],
        details={k: v for k, v in details.items() if v},
        data=_forum_heard(post, source),
    )
    _remember(ctx, incident, FORUM_REF, f"{source}:{post.thread}")
    events.publish(ctx, events.CUSTOMER_HEARD, incident, opening.opened_event(ctx, incident))
    return incident
