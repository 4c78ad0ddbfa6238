"""/api/v1/…: REMEDIATE — bringing an incident to the Engineering Council, the council's
queue, its decisions (record, approve, confirm a rollback done by hand, answer a question),
and change events ("changed before this opened", adding one by hand)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from escalator.api.deps import Person, ReadSession, ServicesDep, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Body, Id, IncidentOut, NoteIn
from escalator.process.core import queries
from escalator.process.remediate import changes, council, decisions, view

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import Change

router = APIRouter(prefix="/api/v1", tags=["remediate"])

Kind = Literal[
    "gather_info", "allocate_short_term", "allocate_long_term", "rollback_flag", "rollback_release"
]


class DecisionIn(Body):
    """A council decision. Each kind reads its own fields: gather_info (ask, question, due),
    allocate_short_term (engineers), allocate_long_term (sprint, engineers, sprint_ends for
    the built-in tracker), rollback_flag (flag, project, environment), rollback_release
    (release, service)."""

    kind: Kind
    reasons: str = Field(min_length=1, max_length=5000)
    supersedes: int | None = Field(default=None, ge=1, le=2**31 - 1)
    ask: str | None = Field(default=None, max_length=64)
    question: str | None = Field(default=None, max_length=5000)
    due: str | None = Field(default=None, max_length=20, examples=["4h"])
    engineers: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=20
    )
    sprint: str | None = Field(default=None, max_length=200)
    sprint_ends: str | None = Field(default=None, max_length=40, examples=["2026-12-11"])
    flag: str | None = Field(default=None, max_length=200)
    project: str | None = Field(default=None, max_length=200)
    environment: str | None = Field(default=None, max_length=200)
    release: str | None = Field(default=None, max_length=300)
    service: str | None = Field(default=None, max_length=200)


class AnswerIn(Body):
    text: str = Field(min_length=1, max_length=20000)


class ChangeIn(Body):
    summary: str = Field(min_length=1, max_length=1024)
    service: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=2000)
    at: str | None = Field(default=None, max_length=64, description="When it changed (ISO 8601)")


class DecisionOut(BaseModel):
    id: int
    kind: str
    text: str
    state: str
    error: str | None
    decided_by: str
    decided_at: datetime
    reasons: str
    params: dict[str, Any]
    approvals_needed: int
    approvals: list[dict[str, Any]]
    approvals_missing: int
    due_at: datetime | None
    supersedes: int | None
    superseded_by: int | None
    result: dict[str, Any]
    by_hand: str

    @classmethod
    def of(cls, v: view.DecisionView) -> DecisionOut:
        r = v.row
        return cls(
            id=r.id,
            kind=r.kind,
            text=v.text,
            state=v.state,
            error=v.error,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            reasons=r.reasons,
            params=r.params,
            approvals_needed=r.approvals_needed,
            approvals=r.approvals,
            approvals_missing=v.missing,
            due_at=r.due_at,
            supersedes=r.supersedes_id,
            superseded_by=r.superseded_by_id,
            result=r.result,
            by_hand=v.manual,
        )


class ChangeOut(BaseModel):
    id: int
    at: datetime
    service: str | None
    summary: str
    source: str
    links: list[dict[str, Any]]
    details: dict[str, Any]
    seconds_before: int | None = None

    @classmethod
    def of(cls, row: Change, seconds_before: int | None = None) -> ChangeOut:
        return cls(
            id=row.id,
            at=row.at,
            service=row.service,
            summary=row.summary,
            source=row.source,
            links=row.links,
            details=row.details,
            seconds_before=seconds_before,
        )


class CouncilOut(BaseModel):
    incident: str
    case: str | None = Field(description="waiting, decided or closed; null: never brought")
    due_at: datetime | None
    decisions: list[DecisionOut]
    changes_before: list[ChangeOut]
    flags: list[dict[str, Any]] = Field(description="flags turned on before: rollback choices")


class QueueItem(BaseModel):
    incident: str
    title: str
    severity: str | None
    status: str
    brought_by: str
    brought_at: datetime
    note: str
    due_at: datetime
    seconds_left: int
    overdue: bool


def _decision_out(session: Any, key: str, decision_id: int) -> DecisionOut:
    incident = queries.get_incident(session, key)
    found = [v for v in view.decision_views(session, incident) if v.row.id == decision_id]
    return DecisionOut.of(found[0])


@router.post("/incidents/{key}/council", response_model=IncidentOut, responses=ERRORS)
def bring(key: str, body: NoteIn, work: Work) -> IncidentOut:
    """Bring the incident to the Engineering Council (Support Manager, Engineering Manager,
    On Call Engineer or SME): every member is told and the council clock starts."""
    with work() as ctx:
        return IncidentOut.of(council.bring(ctx, key, note=body.note))


@router.get("/council/queue", response_model=list[QueueItem], responses=ERRORS)
def council_queue(
    svc: ServicesDep,
    session: ReadSession,
    _: Person,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[QueueItem]:
    """What waits for the council's decision, oldest due first."""
    now = svc.clock.now()
    return [
        QueueItem(
            incident=w.incident.key,
            title=w.incident.title,
            severity=w.incident.severity,
            status=w.incident.status,
            brought_by=w.case.brought_by,
            brought_at=w.case.brought_at,
            note=w.case.note,
            due_at=w.case.due_at,
            seconds_left=int(w.left(now).total_seconds()),
            overdue=w.left(now).total_seconds() <= 0,
        )
        for w in council.queue(session, limit=limit)
    ]


@router.get("/incidents/{key}/council", response_model=CouncilOut, responses=ERRORS)
def council_panel(key: str, svc: ServicesDep, session: ReadSession, _: Person) -> CouncilOut:
    """The incident before the council: its case, decisions, and what changed before it."""
    incident = queries.get_incident(session, key)
    panel = view.panel(session, svc.process, incident)
    return CouncilOut(
        incident=incident.key,
        case=panel.case.state if panel.case else None,
        due_at=panel.case.due_at if panel.case else None,
        decisions=[DecisionOut.of(v) for v in panel.decisions],
        changes_before=[
            ChangeOut.of(b.change, int(b.before.total_seconds())) for b in panel.changes
        ],
        flags=panel.flags,
    )


@router.post(
    "/incidents/{key}/council/decisions",
    response_model=DecisionOut,
    status_code=201,
    responses=ERRORS,
)
def decide(key: str, body: DecisionIn, work: Work, svc: ServicesDep) -> DecisionOut:
    """Record a council decision (council members only). Rollbacks wait for the approvals
    the process file asks for; a live decision is replaced only by superseding it."""
    params = body.model_dump(exclude={"kind", "reasons", "supersedes"}, exclude_none=True)
    with work() as ctx:
        row = decisions.decide(
            ctx,
            key,
            body.kind,
            reasons=body.reasons,
            params=params,
            supersedes=body.supersedes,
            remote=svc.remote,
        )
        decision_id = row.id
    with svc.db.read() as session:
        return _decision_out(session, key, decision_id)


@router.post(
    "/incidents/{key}/council/decisions/{decision_id}/approve",
    response_model=DecisionOut,
    responses=ERRORS,
)
def approve(key: str, decision_id: Id, body: NoteIn, work: Work, svc: ServicesDep) -> DecisionOut:
    """A further council member approves; the last approval needed makes it act."""
    with work() as ctx:
        decisions.approve(ctx, key, decision_id, note=body.note)
    with svc.db.read() as session:
        return _decision_out(session, key, decision_id)


@router.post(
    "/incidents/{key}/council/decisions/{decision_id}/confirm",
    response_model=DecisionOut,
    responses=ERRORS,
)
def confirm(key: str, decision_id: Id, body: NoteIn, work: Work, svc: ServicesDep) -> DecisionOut:
    """A council member confirms a rollback was done by hand."""
    with work() as ctx:
        decisions.confirm(ctx, key, decision_id, note=body.note)
    with svc.db.read() as session:
        return _decision_out(session, key, decision_id)


@router.post(
    "/incidents/{key}/council/decisions/{decision_id}/answer",
    response_model=DecisionOut,
    responses=ERRORS,
)
def answer(key: str, decision_id: Id, body: AnswerIn, work: Work, svc: ServicesDep) -> DecisionOut:
    """The answer to the council's request for information."""
    with work() as ctx:
        decisions.answer(ctx, key, decision_id, text=body.text)
    with svc.db.read() as session:
        return _decision_out(session, key, decision_id)


@router.post("/changes", response_model=ChangeOut, status_code=201, responses=ERRORS)
def add_change(body: ChangeIn, work: Work) -> ChangeOut:
    """Tell of a change by hand (a deployment, a flag, a config edit)."""
    with work() as ctx:
        return ChangeOut.of(changes.add(ctx, **body.model_dump()))


@router.get("/changes", response_model=list[ChangeOut], responses=ERRORS)
def list_changes(
    session: ReadSession, _: Person, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[ChangeOut]:
    """The latest change events, newest first."""
    return [ChangeOut.of(row) for row in changes.recent(session, limit=limit)]
