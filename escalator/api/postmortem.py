"""POST MORTEM over HTTP: an incident's post-mortem (read, write, mark reviewed, waive), its
action items (add, change, done or won't do), playbook entry drafts (edit, publish), the
weekly reviews and the weekly report in JSON, Markdown, CSV or HTML."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from escalator.api.deps import Look, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Body, EventOut, Id
from escalator.domain.postmortem import KINDS, STATES, parse_due
from escalator.domain.weekly import WeekError, parse_week, week_at
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.process.postmortem import actions, drafts, formats, readings, retrospective
from escalator.process.postmortem import report as weekly_report
from escalator.process.postmortem import review as reviews
from escalator.process.postmortem import view as pm_view
from escalator.web import weekly as weekly_page

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import Review

router = APIRouter(prefix="/api/v1", tags=["post mortem"])
FORMATS = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


class PostmortemIn(Body):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    root_cause: str | None = Field(default=None, description="An id of postmortem.root_causes")
    factors: list[Annotated[str, Field(max_length=500)]] | None = Field(
        default=None, description="Contributing factors"
    )
    trigger_change: str | None = Field(
        default=None, description="The id of the change event that triggered it ('' for none)"
    )
    detected_by: Literal["alarm", "customer"] | None = None
    service: str | None = Field(default=None, max_length=200)
    went_well: str | None = Field(default=None, max_length=20000)
    went_badly: str | None = Field(default=None, max_length=20000)


class ReasonIn(Body):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=5000)


class DraftIn(Body):
    model_config = ConfigDict(extra="forbid")
    entry_id: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=500)
    match: dict[str, list[str]] | None = Field(
        default=None, description="alerts, services, sources, keywords"
    )
    steps: list[Annotated[str, Field(max_length=1000)]] | None = None
    notes: str | None = Field(default=None, max_length=20000)


class DraftOut(BaseModel):
    entry_id: str
    title: str
    match: dict[str, Any]
    steps: list[str]
    notes: str
    published_at: datetime | None
    path: str
    markdown: str


class ItemIn(Body):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description=" | ".join(KINDS))
    title: str = Field(max_length=500)
    owner: str | None = Field(default=None, description="A person of the process file")
    due: str | None = Field(
        default=None, description="2026-12-04 (17:00 in the owner's timezone) or a date and time"
    )
    details: dict[str, str] = Field(
        default_factory=dict,
        description="alarm_threshold: alarm, direction (up|down), from, to; new_metric: "
        "metric, service; docs_update: url",
    )
    jira: str | None = Field(default=None, description="A JIRA key, like MCT-42")
    finding: str | None = Field(
        default=None, description="The weekly report's finding this answers (one item each)"
    )


class ItemPatch(Body):
    model_config = ConfigDict(extra="forbid")
    state: str | None = Field(default=None, description=" | ".join(STATES))
    reason: str = Field(default="", max_length=5000, description="Why it won't be done")
    owner: str | None = None
    due: str | None = None
    jira: str | None = None


class ItemOut(BaseModel):
    id: int
    incident: str
    kind: str
    title: str
    details: dict[str, Any]
    owner: str
    due_at: datetime
    overdue: bool
    state: str
    reason: str
    jira: str | None
    finding: str | None
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    draft: DraftOut | None

    @classmethod
    def of(cls, v: pm_view.ItemView) -> ItemOut:
        i, d = v.item, v.draft
        draft = (
            DraftOut(
                entry_id=d.entry_id,
                title=d.title,
                match=d.match,
                steps=d.steps,
                notes=d.notes,
                published_at=d.published_at,
                path=d.path,
                markdown=v.markdown,
            )
            if d
            else None
        )
        return cls(
            id=i.id,
            incident=f"INC-{i.incident_id}",
            kind=i.kind,
            title=i.title,
            details=i.details,
            owner=i.owner,
            due_at=i.due_at,
            overdue=v.overdue,
            state=i.state,
            reason=i.reason,
            jira=i.jira,
            finding=i.finding,
            created_at=i.created_at,
            created_by=i.created_by,
            closed_at=i.closed_at,
            closed_by=i.closed_by,
            draft=draft,
        )


class PostmortemOut(BaseModel):
    incident: str
    state: str
    owner: str | None
    root_cause: str | None
    root_cause_label: str | None
    factors: list[str]
    trigger_change: dict[str, Any] | None
    change_events: list[dict[str, Any]] | str
    detected_by: str | None
    customer_first: bool
    service: str
    went_well: str
    went_badly: str
    missing: list[str]
    reviewed_at: datetime | None
    reviewed_by: str | None
    waived_at: datetime | None
    waived_by: str | None
    waiver: str
    action_items: list[ItemOut]
    timeline: list[EventOut]

    @classmethod
    def of(cls, ctx: Ctx, v: pm_view.PostmortemView) -> PostmortemOut:
        p = v.postmortem
        causes = ctx.process.spec.postmortem.root_causes
        changes: list[dict[str, Any]] | str = (
            str(v.changes)
            if isinstance(v.changes, readings.NotAvailable)
            else [{"id": c.id, "at": c.at.isoformat(), "summary": c.summary} for c in v.changes]
        )
        return cls(
            incident=v.incident.key,
            state=p.state,
            owner=p.owner,
            root_cause=p.root_cause,
            root_cause_label=causes.get(p.root_cause) if p.root_cause else None,
            factors=p.factors,
            trigger_change=p.trigger_change,
            change_events=changes,
            detected_by=p.detected_by,
            customer_first=p.customer_first,
            service=p.service,
            went_well=p.went_well,
            went_badly=p.went_badly,
            missing=v.missing,
            reviewed_at=p.reviewed_at,
            reviewed_by=p.reviewed_by,
            waived_at=p.waived_at,
            waived_by=p.waived_by,
            waiver=p.waiver,
            action_items=[ItemOut.of(i) for i in v.items],
            timeline=[EventOut.of(e) for e in v.timeline],
        )


def _out(ctx: Ctx, key: str) -> PostmortemOut:
    return PostmortemOut.of(ctx, pm_view.view(ctx, key))


def due_at(ctx: Ctx, text: str | None, owner: str | None) -> datetime | None:
    """A due date as written, read in the owner's timezone."""
    if text is None or not text.strip():
        return None
    person = ctx.process.person(owner or "")
    try:
        return parse_due(text, person.timezone if person else "UTC")
    except ValueError as exc:
        raise InvalidInput("due", str(exc)) from exc


def _item(ctx: Ctx, item_id: int) -> ItemOut:
    item, _ = actions.get(ctx, item_id, for_update=False)
    return ItemOut.of(pm_view.item_views(ctx, [item])[0])


@router.get("/incidents/{key}/postmortem", response_model=PostmortemOut, responses=ERRORS)
def get_postmortem(key: str, ctx: Look) -> PostmortemOut:
    return _out(ctx, key)


@router.put("/incidents/{key}/postmortem", response_model=PostmortemOut, responses=ERRORS)
def write_postmortem(key: str, body: PostmortemIn, work: Work) -> PostmortemOut:
    """Write the post-mortem (its owner, or a manager); refused whole when a field is wrong."""
    with work() as ctx:
        retrospective.update(ctx, key, **body.model_dump())
        return _out(ctx, key)


@router.post("/incidents/{key}/postmortem/reviewed", response_model=PostmortemOut, responses=ERRORS)
def mark_reviewed(key: str, work: Work) -> PostmortemOut:
    """Reviewed in the weekly review (managers); the post-mortem must be complete."""
    with work() as ctx:
        retrospective.mark_reviewed(ctx, key)
        return _out(ctx, key)


@router.post("/incidents/{key}/postmortem/waiver", response_model=PostmortemOut, responses=ERRORS)
def waive(key: str, body: ReasonIn, work: Work) -> PostmortemOut:
    """A manager lets the incident close without a reviewed post-mortem, saying why."""
    with work() as ctx:
        retrospective.waive(ctx, key, body.reason)
        return _out(ctx, key)


@router.post(
    "/incidents/{key}/action-items", response_model=ItemOut, status_code=201, responses=ERRORS
)
def add_item(key: str, body: ItemIn, work: Work, response: Response) -> ItemOut:
    with work() as ctx:
        item = actions.add(
            ctx,
            key,
            kind=body.kind,
            title=body.title,
            owner=body.owner,
            due_at=due_at(ctx, body.due, body.owner),
            details=body.details,
            jira=body.jira,
            finding=body.finding,
        )
        response.headers["Location"] = f"/api/v1/action-items/{item.id}"
        return _item(ctx, item.id)


@router.get("/action-items", response_model=list[ItemOut], responses=ERRORS)
def list_items(
    ctx: Look,
    state: Literal["open", "done", "wont_do"] | None = None,
    owner: str | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ItemOut]:
    found = actions.items(ctx, state=state, owner=owner, overdue=overdue, limit=limit)
    return [ItemOut.of(v) for v in pm_view.item_views(ctx, found)]


@router.get("/action-items/{item_id}", response_model=ItemOut, responses=ERRORS)
def get_item(item_id: Id, ctx: Look) -> ItemOut:
    return _item(ctx, item_id)


@router.patch("/action-items/{item_id}", response_model=ItemOut, responses=ERRORS)
def change_item(item_id: Id, body: ItemPatch, work: Work) -> ItemOut:
    """Done, won't do (with the reason) or open again; a new owner, due date or ticket."""
    with work() as ctx:
        if body.owner or body.due or body.jira is not None:
            current, _ = actions.get(ctx, item_id)
            actions.edit(
                ctx,
                item_id,
                owner=body.owner,
                due_at=due_at(ctx, body.due, body.owner or current.owner),
                jira=body.jira,
            )
        if body.state:
            actions.set_state(ctx, item_id, body.state, reason=body.reason)
        return _item(ctx, item_id)


@router.put("/action-items/{item_id}/draft", response_model=ItemOut, responses=ERRORS)
def write_draft(item_id: Id, body: DraftIn, work: Work) -> ItemOut:
    with work() as ctx:
        drafts.update(ctx, item_id, **body.model_dump())
        return _item(ctx, item_id)


@router.post("/action-items/{item_id}/draft/publish", response_model=ItemOut, responses=ERRORS)
def publish_draft(item_id: Id, work: Work) -> ItemOut:
    """Check the entry with the playbook loader and write it into the playbooks directory."""
    with work() as ctx:
        drafts.publish(ctx, item_id)
        return _item(ctx, item_id)


class ReviewOut(BaseModel):
    id: int
    week: str
    due_at: datetime
    opened_at: datetime
    since: datetime
    incidents: list[dict[str, Any]]
    action_items: list[ItemOut]


def review_out(ctx: Ctx, row: Review) -> ReviewOut:
    agenda = reviews.agenda_of(ctx, row)
    return ReviewOut(
        id=row.id,
        week=str(row.agenda.get("week", "")),
        due_at=row.due_at,
        opened_at=row.opened_at,
        since=row.since,
        incidents=[
            {
                "key": a.incident.key,
                "title": a.incident.title,
                "status": a.incident.status,
                "resolved_at": a.incident.resolved_at,
                "postmortem": a.state,
            }
            for a in agenda.incidents
        ],
        action_items=[ItemOut.of(v) for v in pm_view.item_views(ctx, agenda.action_items)],
    )


@router.get("/reviews", response_model=list[ReviewOut], responses=ERRORS)
def list_reviews(ctx: Look) -> list[ReviewOut]:
    return [review_out(ctx, r) for r in reviews.reviews(ctx, limit=20)]


@router.get("/reviews/latest", response_model=ReviewOut, responses=ERRORS)
def latestreview_out(ctx: Look) -> ReviewOut:
    return review_out(ctx, reviews.get(ctx))


@router.get("/reviews/{review_id}", response_model=ReviewOut, responses=ERRORS)
def getreview_out(review_id: Id, ctx: Look) -> ReviewOut:
    return review_out(ctx, reviews.get(ctx, review_id))


def render(ctx: Ctx, week: str | None, form: str) -> tuple[str, str]:
    """The weekly report of ``week`` (default: this week) in ``form``, with its media type."""
    timezone = ctx.process.spec.postmortem.review.timezone
    try:
        chosen = parse_week(week) if week else week_at(ctx.now, timezone)
    except WeekError as exc:
        raise InvalidInput("week", str(exc)) from exc
    if form not in FORMATS:
        raise InvalidInput("format", f"one of {', '.join(FORMATS)}")
    found = weekly_report.weekly(ctx, chosen)
    text = {
        "json": formats.json_text,
        "md": formats.markdown,
        "csv": formats.csv_text,
        "html": weekly_page.standalone,
    }[form](found)
    return text, FORMATS[form]


@router.get("/reports/weekly", responses=ERRORS, response_class=Response)
def weekly(
    ctx: Look,
    week: Annotated[str | None, Query(description="An ISO week, like 2026-W48")] = None,
    format: Literal["json", "md", "csv", "html"] = "json",
) -> Response:
    """The weekly report; ``html`` is one self-contained file (charts inline as SVG, no
    request outside it), for an air-gapped laptop."""
    text, media = render(ctx, week, format)
    headers = {}
    if format == "html":  # its own styles are inline; it loads nothing
        headers["Content-Security-Policy"] = weekly_page.STANDALONE_POLICY
    return Response(text, media_type=media, headers=headers)
