"""/api/v1/incidents: list, read, report, and the lifecycle actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from escalator.api.deps import Person, ReadSession, Work
from escalator.api.problems import MEDIA_TYPE
from escalator.api.schemas import (
    EscalateIn,
    EventOut,
    IncidentOut,
    IncidentPage,
    NoteIn,
    Offset,
    ReportIn,
)
from escalator.domain.lifecycle import Stage, Status
from escalator.process.alert import opening
from escalator.process.core import incidents, queries
from escalator.process.core.records import incident_id
from escalator.process.escalate import escalation, paging

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

_PROBLEM = {"content": {MEDIA_TYPE: {}}}
ERRORS = {
    code: {"description": text, **_PROBLEM}
    for code, text in {
        401: "no or bad token",
        403: "the person's role does not allow it",
        404: "no such incident",
        409: "the incident's state does not allow it",
        422: "invalid input: the body names each field and the reason",
    }.items()
}


@router.get("", response_model=IncidentPage, responses=ERRORS)
def list_incidents(
    session: ReadSession,
    _: Person,
    status: Status | None = None,
    severity: Annotated[str | None, Query(pattern=r"^SEV[1-4]$")] = None,
    stage: Stage | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    before: Annotated[
        str | None, Query(description="An incident key: list the ones older than it")
    ] = None,
) -> IncidentPage:
    page = queries.list_incidents(
        session,
        status=status.value if status else None,
        severity=severity,
        stage=stage.value if stage else None,
        limit=limit,
        offset=offset,
        before=incident_id(before) if before else None,
    )
    more = page.next_before is not None
    return IncidentPage(
        items=[IncidentOut.of(i) for i in page.items],
        total=page.total,
        total_exact=page.total_exact,
        limit=limit,
        offset=offset,
        next_offset=offset + len(page.items) if more else None,
        next_before=page.next_before,
    )


@router.post("", response_model=IncidentOut, status_code=201, responses=ERRORS)
def report_incident(body: ReportIn, work: Work, response: Response) -> IncidentOut:
    """Open an incident for a customer report taken by phone or by hand."""
    with work() as ctx:
        incident = opening.report(ctx, **body.model_dump())
        response.headers["Location"] = f"/api/v1/incidents/{incident.key}"
        return IncidentOut.of(incident)


@router.get("/{key}", response_model=IncidentOut, responses=ERRORS)
def get_incident(key: str, session: ReadSession, _: Person) -> IncidentOut:
    return IncidentOut.of(queries.get_incident(session, key))


@router.get("/{key}/timeline", response_model=list[EventOut], responses=ERRORS)
def get_timeline(key: str, session: ReadSession, _: Person) -> list[EventOut]:
    incident = queries.get_incident(session, key)
    return [EventOut.of(e) for e in queries.timeline(session, incident)]


@router.post("/{key}/acknowledge", response_model=IncidentOut, responses=ERRORS)
def acknowledge(key: str, work: Work, body: NoteIn | None = None) -> IncidentOut:
    with work() as ctx:
        return IncidentOut.of(paging.acknowledge(ctx, key, note=body.note if body else ""))


@router.post("/{key}/escalate", response_model=IncidentOut, responses=ERRORS)
def escalate(key: str, body: EscalateIn, work: Work) -> IncidentOut:
    with work() as ctx:
        incident = escalation.escalate(
            ctx, key, to_role=body.role, to_person=body.person, note=body.note
        )
        return IncidentOut.of(incident)


@router.post("/{key}/resolve", response_model=IncidentOut, responses=ERRORS)
def resolve(key: str, work: Work, body: NoteIn | None = None) -> IncidentOut:
    with work() as ctx:
        return IncidentOut.of(incidents.resolve(ctx, key, note=body.note if body else ""))


@router.post("/{key}/reopen", response_model=IncidentOut, responses=ERRORS)
def reopen(key: str, work: Work, body: NoteIn | None = None) -> IncidentOut:
    with work() as ctx:
        return IncidentOut.of(incidents.reopen(ctx, key, note=body.note if body else ""))


@router.post("/{key}/close", response_model=IncidentOut, responses=ERRORS)
def close(key: str, work: Work, body: NoteIn | None = None) -> IncidentOut:
    with work() as ctx:
        return IncidentOut.of(incidents.close(ctx, key, note=body.note if body else ""))
