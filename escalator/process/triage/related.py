"""Related tickets, known bugs and past incidents, ranked, each with why it matched; linking
one is a single action that lands on the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.core.records import load, record, schedule_once
from escalator.store import search
from escalator.store.models import Incident, IncidentLink, KnownBug, Ticket, Timer

KINDS = ("incident", "ticket", "bug")
REFRESH_TERMS = "search.refresh_terms"  # PostgreSQL: recount the words related search weighs
REFRESH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Related:
    kind: str
    ref: str
    title: str
    score: float
    reasons: tuple[str, ...]


def index(ctx: Ctx, incident: Incident, *, kind: str, ref: str, title: str) -> None:
    """Make ``ref`` (the incident itself, or its ticket) findable by related search."""
    details = incident.details
    search.index(
        ctx.session,
        kind=kind,
        ref=ref,
        title=title,
        body=incident.description,
        service=str(details.get("service", "")),
        account=str(details.get("account", "")),
        group_key=str(details.get("group", "")),
        created_at=ctx.now,
    )


def find(session: Session, incident: Incident, *, limit: int = 10) -> list[Related]:
    # the title first, then the description: at most 12 terms keeps the search cheap
    words = search.terms(f"{incident.title} {incident.description}", limit=12)
    service = str(incident.details.get("service", ""))
    account = str(incident.details.get("account", ""))
    group = str(incident.details.get("group", ""))
    found: dict[tuple[str, str], tuple[float, list[str], str]] = {}
    # never the incident itself, nor its own ticket
    own = {("incident", incident.key)} | {
        ("ticket", key)
        for key in session.scalars(select(Ticket.key).where(Ticket.incident_id == incident.id))
        if key
    }
    for hit in search.by_text(session, words, limit=limit * 3) + search.by_fields(
        session, service=service, account=account, group_key=group, limit=limit * 3
    ):
        if (hit.kind, hit.ref) in own:
            continue
        score, reasons, title = found.get((hit.kind, hit.ref), (0.0, [], hit.title))
        if hit.rank >= 0:
            shared = sorted(set(words) & set(search.terms(f"{hit.title} {hit.body}", limit=200)))
            score += 2.0 / (1 + hit.rank)
            reasons.append("shared terms: " + ", ".join(shared[:6]) if shared else "similar text")
        if group and hit.group_key == group and "same alert" not in reasons:
            score += 3.0
            reasons.append("same alert")
        if account and hit.account == account and f"same account ({account})" not in reasons:
            score += 1.5
            reasons.append(f"same account ({account})")
        if service and hit.service == service and f"same service ({service})" not in reasons:
            score += 1.0
            reasons.append(f"same service ({service})")
        found[(hit.kind, hit.ref)] = (score, reasons, title)
    ranked = sorted(found.items(), key=lambda item: -item[1][0])[:limit]
    return [Related(k, r, t, round(s, 3), tuple(why)) for (k, r), (s, why, t) in ranked]


def link(ctx: Ctx, key: str, *, kind: str, ref: str, title: str = "") -> IncidentLink:
    if kind not in KINDS:
        raise InvalidInput("kind", f"one of {', '.join(KINDS)}")
    incident = load(ctx, key)
    row = IncidentLink(
        incident_id=incident.id,
        kind=kind,
        ref=ref[:500],
        title=title[:500],
        added_by=ctx.actor,
        added_at=ctx.now,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(row)
    except IntegrityError as exc:
        raise InvalidInput("ref", f"{kind} {ref} is linked already") from exc
    record(
        ctx,
        incident,
        "linked",
        note=f"related {kind} {ref} {title}".strip(),
        data={"kind": kind, "ref": ref},
    )
    return row


def add_bug(
    ctx: Ctx, *, key: str, title: str, description: str = "", source: str = "builtin"
) -> KnownBug:
    if not key.strip() or not title.strip():
        raise InvalidInput("key" if not key.strip() else "title", "required")
    bug = KnownBug(
        key=key.strip(),
        title=title.strip(),
        description=description,
        source=source,
        created_at=ctx.now,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(bug)
    except IntegrityError as exc:
        raise InvalidInput("key", f"known bug {key} exists already") from exc
    search.index(
        ctx.session, kind="bug", ref=bug.key, title=bug.title, body=description, created_at=ctx.now
    )
    return bug


def bugs(session: Session) -> list[KnownBug]:
    return list(session.scalars(select(KnownBug).order_by(KnownBug.id)).all())


def ensure_refresh_timer(ctx: Ctx) -> None:
    """On PostgreSQL, a timer that recounts the documents of each word every few minutes
    (``store.search.refresh_terms``): related search keeps the rarest words of a query by
    those counts. Keyed by its five minutes, so several workers store and fire it once."""
    if not ctx.is_postgres:
        return
    due = datetime.fromtimestamp(
        ctx.now.timestamp() // REFRESH_EVERY.total_seconds() * REFRESH_EVERY.total_seconds(),
        tz=UTC,
    )
    schedule_once(ctx, REFRESH_TERMS, due, key=f"{REFRESH_TERMS}:{due.isoformat()}")


def on_refresh_terms(ctx: Ctx, incident: object, timer: Timer) -> None:
    search.refresh_terms(ctx.session)
    due = timer.due_at + REFRESH_EVERY
    schedule_once(ctx, REFRESH_TERMS, due, key=f"{REFRESH_TERMS}:{due.isoformat()}")
