"""/api/v1/incidents/{key}/…: the triage checklist — report, evidence, severity, related
items, playbooks — and known bugs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Request, Response, UploadFile
from pydantic import BaseModel, Field

from escalator.api import downloads
from escalator.api.deps import Person, ReadSession, Work
from escalator.api.incidents import ERRORS
from escalator.api.schemas import Body, Id, IncidentOut, NoteIn
from escalator.domain.severity import Answers
from escalator.process.core import evidence, incidents
from escalator.process.core.queries import get_incident
from escalator.process.core.records import load
from escalator.process.triage import assessment, playbooks, related, report
from escalator.process.triage import view as triage_view

router = APIRouter(prefix="/api/v1", tags=["triage"])


class ReportIn(Body):
    who: str | None = Field(default=None, max_length=4000)
    what: str | None = Field(default=None, max_length=4000)
    where: str | None = Field(default=None, max_length=4000)
    when: str | None = Field(default=None, max_length=4000)
    how: str | None = Field(default=None, max_length=20000)


class LinkIn(Body):
    url: str = Field(max_length=2000)
    title: str = Field(default="", max_length=500)
    kind: Literal["log", "email", "pagerduty", "cloudwatch", "graph", "statsd", "other"] = "other"


class AnswersIn(Body):
    """The seed's five questions."""

    users_affected: int = Field(
        ge=0, strict=True, description="1. How many users are affected? (a whole number)"
    )
    account_tier: str | None = Field(
        default=None,
        description="2. Which users: their account tier (key, standard …); "
        "default: the tier of the incident's account",
    )
    user_impact: Literal["blocked", "losing_money", "degraded", "nice_to_have"] = Field(
        description="3. Impact to the user"
    )
    business_impact: Literal["losing_money", "losing_customer", "none"] = Field(
        description="4. Impact to the company"
    )
    stakeholder: str = Field(default="", max_length=200, description="5. Who was asked …")
    stakeholder_priority: Literal["SEV1", "SEV2", "SEV3", "SEV4"] | None = Field(
        default=None, description="… and the priority they gave"
    )


class VerdictOut(BaseModel):
    severity: str
    reasons: list[str]
    summary: str
    escalated_to: str | None
    incident: IncidentOut


class RelatedIn(Body):
    kind: Literal["incident", "ticket", "bug"]
    ref: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=500)


class OutcomeIn(NoteIn):
    outcome: Literal["resolved", "failed", "not_applicable"]
    entry: str | None = None


class BugIn(Body):
    key: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20000)


def _related(items: list[related.Related]) -> list[dict[str, Any]]:
    return [
        {
            "kind": x.kind,
            "ref": x.ref,
            "title": x.title,
            "score": x.score,
            "reasons": list(x.reasons),
        }
        for x in items
    ]


def _view(view: triage_view.TriageView) -> dict[str, Any]:
    r = view.report
    latest = view.assessments[-1] if view.assessments else None
    return {
        "incident": IncidentOut.of(view.incident).model_dump(mode="json"),
        "due_at": view.due_at.isoformat() if view.due_at else None,
        "report": {f: getattr(r, f) for f in report.FIELDS} if r else None,
        "evidence": {
            "links": [
                {
                    "kind": link.kind,
                    "title": link.title,
                    "url": link.url,
                    "ref": link.ref,
                    "added_by": link.added_by,
                }
                for link in view.links
            ],
            "files": [
                {
                    "id": a.id,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "source": a.source,
                }
                for a in view.files
            ],
        },
        "ticket": {
            "key": view.ticket.key,
            "tracker": view.ticket.tracker,
            "status": view.ticket.status,
            "url": view.ticket.url,
        }
        if view.ticket
        else None,
        "severity": {"severity": latest.severity, "summary": latest.summary} if latest else None,
        "assessments": [
            {
                "at": a.at.isoformat(),
                "by": a.by,
                "severity": a.severity,
                "summary": a.summary,
                "answers": a.answers,
            }
            for a in view.assessments
        ],
        "playbooks": [
            {
                "entry": p.entry_id,
                "title": p.title,
                "because": p.because,
                "steps": p.steps,
                "done": sorted(t["step"] for t in p.ticks),
                "outcome": p.outcome,
            }
            for p in view.playbooks
        ],
        "related": _related(view.related),
    }


@router.get("/incidents/{key}/triage", responses=ERRORS)
def get_triage(key: str, session: ReadSession, _: Person) -> dict[str, Any]:
    """The triage checklist: report, evidence, ticket, severity, playbooks, related items."""
    return _view(triage_view.load(session, key))


@router.put("/incidents/{key}/report", responses=ERRORS)
def put_report(key: str, body: ReportIn, work: Work) -> dict[str, str]:
    with work() as ctx:
        row = report.update(ctx, key, body.model_dump(exclude_none=True))
        return {f: getattr(row, f) for f in report.FIELDS}


@router.post(
    "/incidents/{key}/evidence/links",
    status_code=201,
    responses={**ERRORS, 200: {"description": "The link was there already: it is kept once"}},
)
def add_link(key: str, body: LinkIn, work: Work, response: Response) -> dict[str, str]:
    with work() as ctx:
        row, made = report.add_link(ctx, key, url=body.url, title=body.title, kind=body.kind)
        if not made:
            response.status_code = 200
        return {"url": row.url, "title": row.title}


@router.post("/incidents/{key}/evidence/files", status_code=201, responses=ERRORS)
def upload(
    key: str, request: Request, file: Annotated[UploadFile, File()], work: Work
) -> dict[str, Any]:
    """Attach a file (logs, a customer's email, a screenshot); size-limited, kept with its
    content type and SHA-256."""
    limit = request.app.state.services.settings.attachment_max_bytes
    data = file.file.read(limit + 1)
    with work() as ctx:
        row = report.upload(
            ctx,
            key,
            filename=file.filename or "upload",
            content_type=file.content_type or "application/octet-stream",
            data=data,
            max_bytes=limit,
        )
        return {
            "id": row.id,
            "filename": row.filename,
            "size": row.size,
            "sha256": row.sha256,
            "content_type": row.content_type,
        }


@router.get(
    "/incidents/{key}/evidence/files/{file_id}",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "description": "The file, with the content type it was kept with",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
def download(key: str, file_id: Id, session: ReadSession, _: Person) -> Response:
    return downloads.download(evidence.stored_file(session, key, file_id))


@router.post("/incidents/{key}/assessments", response_model=VerdictOut, responses=ERRORS)
def assess(key: str, body: AnswersIn, work: Work) -> VerdictOut:
    """Answer the five questions; at or above the threshold the Support Manager gets it."""
    with work() as ctx:
        fields = body.model_dump()
        if fields["account_tier"] is None:
            fields["account_tier"] = load(ctx, key).details.get("account_tier")
        incident, verdict = assessment.evaluate(ctx, key, Answers(**fields))
        escalated = incident.owner_role if incident.owner_role == "support_manager" else None
        return VerdictOut(
            severity=verdict.severity,
            reasons=list(verdict.reasons),
            summary=verdict.summary,
            escalated_to=escalated,
            incident=IncidentOut.of(incident),
        )


@router.get("/incidents/{key}/related", responses=ERRORS)
def get_related(key: str, session: ReadSession, _: Person) -> list[dict[str, Any]]:
    return _related(related.find(session, get_incident(session, key)))


@router.post("/incidents/{key}/related", status_code=201, responses=ERRORS)
def link_related(key: str, body: RelatedIn, work: Work) -> dict[str, str]:
    with work() as ctx:
        row = related.link(ctx, key, kind=body.kind, ref=body.ref, title=body.title)
        return {"kind": row.kind, "ref": row.ref}


@router.post("/incidents/{key}/playbooks/{entry}", status_code=201, responses=ERRORS)
def attach_playbook(key: str, entry: str, work: Work) -> dict[str, Any]:
    with work() as ctx:
        run = playbooks.attach(ctx, key, entry)
        return {"entry": run.entry_id, "steps": run.steps}


@router.post("/incidents/{key}/playbooks/{entry}/steps/{step}", responses=ERRORS)
def tick(key: str, entry: str, step: int, work: Work) -> dict[str, Any]:
    with work() as ctx:
        run = playbooks.tick(ctx, key, entry, step)
        return {"entry": run.entry_id, "done": sorted(t["step"] for t in run.ticks)}


@router.post("/incidents/{key}/playbook-outcome", response_model=IncidentOut, responses=ERRORS)
def outcome(key: str, body: OutcomeIn, work: Work) -> IncidentOut:
    with work() as ctx:
        return IncidentOut.of(
            playbooks.conclude(ctx, key, body.outcome, entry_id=body.entry, note=body.note)
        )


@router.post("/incidents/{key}/claim", response_model=IncidentOut, responses=ERRORS)
def claim(key: str, work: Work) -> IncidentOut:
    with work() as ctx:
        return IncidentOut.of(incidents.claim(ctx, key))


@router.post("/known-bugs", status_code=201, responses=ERRORS)
def add_bug(body: BugIn, work: Work) -> dict[str, str]:
    with work() as ctx:
        bug = related.add_bug(ctx, key=body.key, title=body.title, description=body.description)
        return {"key": bug.key, "title": bug.title}


@router.get("/known-bugs", responses=ERRORS)
def list_bugs(session: ReadSession, _: Person) -> list[dict[str, str]]:
    return [
        {"key": b.key, "title": b.title, "status": b.status, "source": b.source}
        for b in related.bugs(session)
    ]
