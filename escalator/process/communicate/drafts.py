"""COMMUNICATE: drafting an update from templates, with what changed on the timeline since
the contact was last told.

Templates are Jinja2 files in the process file's ``communication.templates`` directory (by
default ``templates/`` beside it), each falling back to the packaged one in
``escalator/defaults/templates``: ``update.txt`` (while open), ``resolved.txt`` (the final
update), ``next_update.txt`` (the promise added to every update) and ``email.html`` (the HTML
part of an email). One sandboxed environment renders them all, autoescaping ``.html`` only:
plain text reaches the customer as written, HTML has every piece of outside text escaped.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.process.core.errors import InvalidInput
from escalator.store.models import Contact, Incident, TimelineEvent

UPDATE = "update.txt"
RESOLVED = "resolved.txt"
NEXT_UPDATE = "next_update.txt"
EMAIL_HTML = "email.html"

# how the customer hears of who has their incident
ROLE_WORDS = {
    "first_tier": "support team",
    "support_manager": "support manager",
    "second_tier": "support team",
    "engineering_manager": "engineering manager",
    "engineering_council": "engineering leads",
    "on_call_engineer": "on-call engineer",
    "sme": "specialist engineer",
}
# the roles whose taking an incident on means something to a customer (engineers now on it);
# hand-offs between support roles are internal steps and stay out of the draft
TAKEN_ON = {
    "engineering_manager": "our engineering manager took it on",
    "engineering_council": "our engineering leads took it on",
    "on_call_engineer": "our on-call engineer took it on",
    "sme": "a specialist engineer took it on",
}
PLURAL = {"engineering leads"}
STATUS_WORDS = {
    "open": "we are investigating",
    "acknowledged": "our team is working on it",
    "resolved": "resolved",
    "closed": "resolved",
}


@lru_cache(maxsize=8)
def _environment(own: str | None) -> SandboxedEnvironment:
    packaged = str(resources.files("escalator.defaults") / "templates")
    loaders = [FileSystemLoader(own)] if own else []
    return SandboxedEnvironment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(packaged)]),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(process: Process, name: str, **context: Any) -> str:
    """Render one template; a broken one is the caller's clear 422, not a crash."""
    folder = process.templates_dir()
    try:
        template = _environment(str(folder) if folder else None).get_template(name)
        return template.render(**context).strip()
    except TemplateError as exc:
        where = f"{folder}/{name}" if folder else name
        raise InvalidInput("template", f"{where} cannot be rendered: {exc}") from exc


def when(at: datetime, timezone: str = "UTC") -> str:
    """A time as a customer reads it: ``Mon 2 Nov, 14:30 UTC``."""
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {local.tzname() or timezone}"


def timezone_of(process: Process, incident: Incident) -> str:
    hours = process.working_hours(incident.details.get("account"))
    return hours.timezone if hours else "UTC"


def _changes(
    session: Session, incident: Incident, since: datetime, timezone: str
) -> tuple[list[str], str]:
    """What a customer would want to know happened after ``since``, and the latest of
    triage's "what" (what we know)."""
    events = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id)
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    lines: list[str] = []
    said: set[str] = set()  # each piece of news once, at its first time
    known = ""
    for e in events:
        if e.field == "report.what" and e.after:
            known = e.after
        if e.at <= since:
            continue
        at = f"{e.at.astimezone(ZoneInfo(timezone)):%H:%M}"
        news = None
        if e.field == "severity" and e.after:
            news = f"rated {e.after}"
        elif e.field == "owner_role" and e.after in TAKEN_ON:
            news = TAKEN_ON[e.after]
        elif e.field == "stage" and e.after == "remediate":  # the council, whoever holds it
            news = TAKEN_ON["engineering_council"]
        elif e.field == "status" and e.after:
            news = STATUS_WORDS.get(e.after, e.after)
        if news and news not in said:
            said.add(news)
            lines.append(f"{at} {news}")
    return lines, known


def doing(incident: Incident) -> str:
    """What we are doing, as a customer reads it: "our engineering leads are working on it"."""
    role = "engineering_council" if incident.stage == "remediate" else incident.owner_role
    who = ROLE_WORDS.get(role or "", "team")
    return f"our {who} {'are' if who in PLURAL else 'is'} working on it"


def draft(
    session: Session,
    process: Process,
    incident: Incident,
    contacts: list[Contact],
    *,
    sender: str,
) -> str:
    """A pre-filled update for ``contacts`` (one, or all of the incident's): the resolved
    template once the incident is resolved, the update template before."""
    told = [c.last_told_at or c.added_at for c in contacts]
    since = min(told) if told else incident.created_at
    # "Since our last update" only after one; a first update says where things stand
    told_before = any(c.last_told_at is not None for c in contacts)
    timezone = timezone_of(process, incident)
    changes, known = _changes(session, incident, since, timezone)
    open_ = Status(incident.status) in ACTIVE
    person = process.person(sender)
    return render(
        process,
        UPDATE if open_ else RESOLVED,
        incident=incident,
        contact=contacts[0] if len(contacts) == 1 else None,
        status=STATUS_WORDS.get(incident.status, incident.status),
        changes=changes,
        told_before=told_before,
        known=known or incident.title,
        doing=doing(incident) if open_ else "nothing more: it is resolved",
        sender=person.name if person else sender,
        company=process.spec.company or process.spec.name,
    )


def with_promise(process: Process, incident: Incident, text: str, at: datetime | None) -> str:
    """The update as sent: the text, then when the next one comes (if one was promised)."""
    if at is None:
        return text.strip()
    promise = render(process, NEXT_UPDATE, at=when(at, timezone_of(process, incident)))
    return f"{text.strip()}\n\n{promise}"


def email_html(process: Process, incident: Incident, text: str) -> str:
    """The HTML part of an email update: the same text, escaped, in paragraphs."""
    paragraphs = [p.splitlines() for p in text.split("\n\n") if p.strip()]
    return render(
        process,
        EMAIL_HTML,
        paragraphs=paragraphs,
        incident=incident,
        company=process.spec.company or process.spec.name,
    )
