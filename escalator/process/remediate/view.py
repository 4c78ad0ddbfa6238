"""What the faces (and POST MORTEM) read of REMEDIATE."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.process.remediate import changes, council, decisions, rollback
from escalator.store.models import CouncilCase, CouncilDecision, Incident, OutboxMessage


@dataclass(frozen=True)
class ChangeBefore:
    id: str
    at: datetime
    summary: str
    service: str | None
    source: str
    before: timedelta


def changes_before(session: Session, process: Process, incident: Incident) -> list[ChangeBefore]:
    """The changes in the window before ``incident`` opened, newest first."""
    return [
        ChangeBefore(
            str(b.change.id),
            b.change.at,
            b.change.summary,
            b.change.service,
            b.change.source,
            b.before,
        )
        for b in changes.before(session, process, incident)
    ]


def decisions_by_kind(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """The council's decisions made in [start, end), by kind (superseded ones included)."""
    rows = session.execute(
        select(CouncilDecision.kind, func.count())
        .where(CouncilDecision.decided_at >= start, CouncilDecision.decided_at < end)
        .group_by(CouncilDecision.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}


@dataclass(frozen=True)
class DecisionView:
    row: CouncilDecision
    text: str
    state: str  # the row's, or "failed" when its rollback message died
    error: str | None
    missing: int  # approvals still needed
    manual: str  # what to do by hand, for a rollback waiting for it


@dataclass
class Panel:
    incident: Incident
    case: CouncilCase | None
    decisions: list[DecisionView]
    changes: list[changes.Before]
    flags: list[dict[str, Any]] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)

    @property
    def may_bring(self) -> bool:
        """Whether "Bring to the council" is offered (not before triage started)."""
        return council.may_bring(self.incident)


def _state(session: Session, row: CouncilDecision) -> tuple[str, str | None]:
    if row.state != rollback.ACTING:
        return row.state, None
    key = {"rollback_flag": f"unleash:off:{row.id}", "rollback_release": f"rollback:{row.id}"}[
        row.kind
    ]
    found = session.execute(
        select(OutboxMessage.state, OutboxMessage.last_error).where(
            OutboxMessage.idempotency_key == key
        )
    ).first()
    if found is not None and found[0] == "dead":
        return "failed", found[1]
    return row.state, found[1] if found else None


def decision_views(session: Session, incident: Incident) -> list[DecisionView]:
    rows = session.scalars(
        select(CouncilDecision)
        .where(CouncilDecision.incident_id == incident.id)
        .order_by(CouncilDecision.id)
    ).all()
    out = []
    for row in rows:
        state, error = _state(session, row)
        missing = max(
            0,
            row.approvals_needed
            - len({a["by"] for a in row.approvals if a.get("by") != row.decided_by}),
        )
        manual = rollback.manual_steps(row) if row.state == rollback.MANUAL else ""
        out.append(DecisionView(row, decisions.describe(row), state, error, missing, manual))
    return out


def panel(session: Session, process: Process, incident: Incident) -> Panel:
    found = changes.before(session, process, incident)
    case = session.get(CouncilCase, incident.id)
    return Panel(
        incident=incident,
        case=case,
        decisions=decision_views(session, incident),
        changes=found,
        flags=changes.flag_suggestions(found),
        releases=changes.release_suggestions(found),
    )
