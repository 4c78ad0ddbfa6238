"""What the faces show of a post-mortem: the record, what it still lacks, the incident's
timeline (read from its events, not retyped), its action items with their drafts, and the
change events its trigger may be picked from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from escalator.domain.postmortem import OPEN, missing
from escalator.process.core import queries
from escalator.process.core.context import Ctx
from escalator.process.core.records import load
from escalator.process.postmortem import drafts, readings, retrospective
from escalator.store.models import ActionItem, Incident, PlaybookDraft, Postmortem, TimelineEvent


@dataclass(frozen=True)
class ItemView:
    item: ActionItem
    draft: PlaybookDraft | None
    overdue: bool

    @property
    def markdown(self) -> str:
        return drafts.markdown(self.draft) if self.draft else ""


@dataclass(frozen=True)
class PostmortemView:
    incident: Incident
    postmortem: Postmortem
    missing: list[str]
    timeline: list[TimelineEvent]
    items: list[ItemView]
    changes: list[readings.ChangeChoice] | readings.NotAvailable


def item_views(ctx: Ctx, items: list[ActionItem]) -> list[ItemView]:
    ids = [i.id for i in items]
    found = ctx.session.scalars(select(PlaybookDraft).where(PlaybookDraft.action_item_id.in_(ids)))
    by_item = {d.action_item_id: d for d in found}
    return [ItemView(i, by_item.get(i.id), i.state == OPEN and i.due_at < ctx.now) for i in items]


def view(ctx: Ctx, key: str) -> PostmortemView:
    incident = load(ctx, key, for_update=False)
    row = retrospective.of(ctx, incident)
    items = list(
        ctx.session.scalars(
            select(ActionItem).where(ActionItem.incident_id == incident.id).order_by(ActionItem.id)
        )
    )
    return PostmortemView(
        incident=incident,
        postmortem=row,
        missing=missing(retrospective.retro(row)),
        timeline=queries.timeline(ctx.session, incident),
        items=item_views(ctx, items),
        changes=readings.change_events(ctx, incident),
    )
