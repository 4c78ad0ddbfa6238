"""The weekly review: a durable timer at the process file's weekday and local time
(``postmortem.review``), armed like the rotations' hand-offs — keyed so that several workers
store it once, and armed again each time it fires. When it fires, the review opens with its
agenda — every incident resolved since the last review (and any earlier one still waiting for
its review) with its post-mortem's state, and every action item open or overdue — and the
participants (by role) are told on the console, by Slack and by email, with the weekly
report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from escalator.domain.permissions import check_action
from escalator.domain.postmortem import OPEN
from escalator.domain.weekly import WEEKDAYS, next_weekly, week_at
from escalator.process.core import people
from escalator.process.core.context import Ctx
from escalator.process.core.errors import NotFound
from escalator.process.core.notify import tell
from escalator.process.postmortem import formats, report
from escalator.process.postmortem.retrospective import DRAFT
from escalator.store.models import ActionItem, Incident, Postmortem, Review, Timer
from escalator.store.upsert import dialect_insert

REVIEW = "postmortem.review"


def _next(ctx: Ctx, after: datetime) -> datetime:
    spec = ctx.process.spec.postmortem.review
    return next_weekly(after, WEEKDAYS.index(spec.weekday), spec.time, spec.timezone)


def ensure_review_timer(ctx: Ctx) -> None:
    """A pending timer for the next review, stored once however many workers arm it."""
    at = _next(ctx, ctx.now)
    stmt = dialect_insert(ctx.session, Timer.__table__).values(
        incident_id=None,
        kind=REVIEW,
        due_at=at,
        state="pending",
        payload={},
        created_at=ctx.now,
        dedup_key=f"review:{at.isoformat()}",
    )
    ctx.session.execute(stmt.on_conflict_do_nothing(index_elements=["dedup_key"]))


def on_review(ctx: Ctx, _: object, timer: Timer) -> None:
    """Open the review this timer stands for (unless the process file has moved the review
    since it was armed), then arm the next one."""
    if _next(ctx, timer.due_at - timedelta(microseconds=1)) == timer.due_at:
        open_review(ctx, timer.due_at)
    ensure_review_timer(ctx)


def latest(ctx: Ctx) -> Review | None:
    return ctx.session.scalars(select(Review).order_by(Review.due_at.desc()).limit(1)).first()


def open_now(ctx: Ctx) -> Review:
    """A manager opens the coming review now instead of waiting for its timer: the same
    review the timer would open (its slot is the next weekday and time of the process
    file), so opening it twice, or the timer firing later, finds the one already open."""
    check_action(ctx.actor, people.roles_of(ctx, ctx.actor), "postmortem.review")
    return open_review(ctx, _next(ctx, ctx.now))


def open_review(ctx: Ctx, due_at: datetime) -> Review:
    """The review of ``due_at``: its agenda, and the participants told; once per slot."""
    opened = ctx.session.scalars(select(Review).where(Review.due_at == due_at)).first()
    if opened is not None:
        return opened
    before = latest(ctx)
    since = before.opened_at if before else due_at - timedelta(days=7)
    waiting = (
        select(Incident.id, Incident.resolved_at)
        .join(Postmortem, Postmortem.incident_id == Incident.id)
        .where(
            Incident.resolved_at.is_not(None),
            or_(
                Incident.resolved_at >= since,
                (Incident.status == "resolved") & (Postmortem.state == DRAFT),
            ),
        )
        .order_by(Incident.resolved_at, Incident.id)
    )
    incident_ids = [row.id for row in ctx.session.execute(waiting)]
    items = ctx.session.scalars(
        select(ActionItem.id).where(ActionItem.state == OPEN).order_by(ActionItem.due_at)
    ).all()
    timezone = ctx.process.spec.postmortem.review.timezone
    review = Review(
        due_at=due_at,
        opened_at=ctx.now,
        since=since,
        agenda={
            "incidents": incident_ids,
            "action_items": list(items),
            "week": str(week_at(due_at, timezone)),
        },
    )
    ctx.session.add(review)
    ctx.session.flush()
    _tell_participants(ctx, review)
    return review


def participants(ctx: Ctx) -> list[str]:
    """Whoever holds a participating role now, each once."""
    found: dict[str, None] = {}
    for role in ctx.process.spec.postmortem.review.participants:
        found.update(dict.fromkeys(people.holders(ctx, role)))
    return list(found)


def _tell_participants(ctx: Ctx, review: Review) -> None:
    agenda = agenda_of(ctx, review)
    weekly = report.weekly(ctx, week_at(review.due_at, ctx.process.spec.postmortem.review.timezone))
    url = ctx.links.url(f"/reviews/{review.id}")
    incidents = [
        f"- {i.incident.key} {i.incident.title} — post-mortem {i.state}" for i in agenda.incidents
    ]
    items = [
        f"- #{a.id} {a.title} — {a.owner}, due {a.due_at:%Y-%m-%d}"
        + (" (overdue)" if a.due_at < ctx.now else "")
        for a in agenda.action_items
    ]
    lines = [
        f"Weekly review {review.agenda['week']}: {url}",
        "",
        "Incidents:",
        *(incidents or ["- none resolved since the last review"]),
        "",
        "Action items open or overdue:",
        *(items or ["- none"]),
    ]
    body = "\n".join(lines) + "\n\n" + formats.markdown(weekly)
    subject = (
        f"Weekly review {review.agenda['week']}: {len(agenda.incidents)} incidents, "
        f"{len(agenda.action_items)} action items open"
    )
    for person in participants(ctx):
        tell(ctx, person, subject, body=body, key=f"review:{review.id}", slack=f"{subject}: {url}")


@dataclass(frozen=True)
class AgendaIncident:
    incident: Incident
    postmortem: Postmortem | None

    @property
    def state(self) -> str:
        return self.postmortem.state if self.postmortem else "not started"


@dataclass(frozen=True)
class Agenda:
    review: Review
    incidents: list[AgendaIncident]
    action_items: list[ActionItem]


def agenda_of(ctx: Ctx, review: Review) -> Agenda:
    ids = list(review.agenda.get("incidents", []))
    rows = {i.id: i for i in ctx.session.scalars(select(Incident).where(Incident.id.in_(ids)))}
    pms = {
        p.incident_id: p
        for p in ctx.session.scalars(select(Postmortem).where(Postmortem.incident_id.in_(ids)))
    }
    item_ids = list(review.agenda.get("action_items", []))
    items = ctx.session.scalars(
        select(ActionItem).where(ActionItem.id.in_(item_ids)).order_by(ActionItem.due_at)
    )
    return Agenda(
        review,
        [AgendaIncident(rows[i], pms.get(i)) for i in ids if i in rows],
        list(items),
    )


def get(ctx: Ctx, review_id: int | None = None) -> Review:
    """A review by id, or the latest."""
    review = ctx.session.get(Review, review_id) if review_id is not None else latest(ctx)
    if review is None:
        raise NotFound(
            f"no review #{review_id}"
            if review_id is not None
            else "no weekly review has opened yet"
        )
    return review


def reviews(ctx: Ctx, limit: int = 52) -> list[Review]:
    return list(ctx.session.scalars(select(Review).order_by(Review.due_at.desc()).limit(limit)))
