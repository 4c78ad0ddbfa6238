"""The council's decision record: one of five kinds, taken by a member, approved by further
members where the process file says so (``council.approvals``), superseded by a later one
but never edited; everything on the timeline and the MCT ticket.

* ``gather_info`` — who is asked, the question, when the answer is due; the answer is
  recorded and the council told; unanswered at its due time, the Engineering Manager is.
* ``allocate_short_term`` — engineers, due at the end of the next working day.
* ``allocate_long_term`` — a named sprint (JIRA: an engineering ticket linked to the MCT
  ticket and moved into the sprint; built in: a named field with its end); the incident's
  resolution clock is replaced by the sprint's end.
* ``rollback_flag`` / ``rollback_release`` — through Unleash / the signed webhook
  (``rollback``), or by hand and confirmed by a member.

Outside services are asked before anything is stored (does the flag exist, is the sprint
open) through a :class:`Remote`; what changes them goes through the outbox.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from escalator.domain import council as rules
from escalator.domain.durations import DurationError, format_duration, parse_duration
from escalator.domain.lifecycle import ACTIVE, Status
from escalator.domain.permissions import check_action
from escalator.domain.roles import ENGINEERING_MANAGER, SECOND_TIER
from escalator.process.core import announce, events, people
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound, possible_id
from escalator.process.core.notify import notify
from escalator.process.core.records import cancel_timers, load, record, schedule
from escalator.process.remediate import council, rollback
from escalator.store.models import CouncilDecision, Incident, TimelineEvent, Timer

INFO_DUE = "council.info_due"
WORK_DUE = "council.work_due"
RESOLUTION_TIMERS = ("resolution.warning", "resolution.deadline")  # ESCALATE's clock

AWAITING, OPEN, ANSWERED, SUPERSEDED = "awaiting_approval", "open", "answered", "superseded"
MOOT = "moot"  # a question left open when the incident was resolved or closed
LIVE = frozenset({AWAITING, OPEN, rollback.ACTING, rollback.MANUAL})
ASKABLE = ("second_tier", "customer")


class Remote(Protocol):
    """Questions asked of outside services before a decision is stored."""

    @property
    def unleash(self) -> bool: ...

    @property
    def jira(self) -> bool: ...

    def check_flag(self, project: str, flag: str, environment: str) -> None:
        """Raise ValueError(why) unless the flag exists there and we may turn it off."""

    def find_sprint(self, project: str, name: str) -> dict[str, Any]:
        """The sprint ``{id, name, state, end}`` named so on the project's board; ValueError(why)
        when there is none or it is closed."""
        ...


def _text(params: dict[str, Any], name: str, limit: int = 500, *, required: bool = True) -> str:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(name, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(name, "must be text")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(name, f"at most {limit} characters")
    return value


def _people(ctx: Ctx, params: dict[str, Any], *, required: bool) -> list[str]:
    names = params.get("engineers") or []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("engineers", "a list of people from the process file")
    unknown = [n for n in names if ctx.process.person(n) is None]
    if unknown:
        known = ", ".join(sorted(ctx.process.spec.people))
        raise InvalidInput("engineers", f"not people: {', '.join(unknown)} (known: {known})")
    if required and not names:
        raise InvalidInput("engineers", "name at least one engineer")
    return list(dict.fromkeys(names))


def _sprint_end(value: str) -> datetime:
    try:
        if len(value) <= 10:
            return datetime.combine(date.fromisoformat(value), time(23, 59), tzinfo=UTC)
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput("sprint_ends", "a date like 2026-12-11") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _params(
    ctx: Ctx, kind: str, params: dict[str, Any], remote: Remote | None
) -> tuple[dict[str, Any], datetime | None]:
    """The decision's parameters, checked (outside services asked), and its due time."""
    if kind == "gather_info":
        ask = _text(params, "ask", 64)
        if ask not in ASKABLE and ctx.process.person(ask) is None:
            raise InvalidInput(
                "ask", f"{ask!r}: ask second_tier, customer or a person of the process file"
            )
        question = _text(params, "question", 5000)
        due_text = _text(params, "due", 20, required=False)
        try:
            within = parse_duration(due_text) if due_text else ctx.process.spec.council.info_due
        except DurationError as exc:
            raise InvalidInput("due", str(exc)) from exc
        if within <= timedelta(0):
            raise InvalidInput("due", "a duration like 4h")
        return {"ask": ask, "question": question, "due": format_duration(within)}, ctx.now + within
    if kind == "allocate_short_term":
        spec = ctx.process.spec.council
        due = rules.next_working_day_end(
            ctx.now,
            timezone=spec.timezone,
            working_days=spec.working_days,
            end_of_day=spec.end_of_day,
        )
        return {"engineers": _people(ctx, params, required=True)}, due
    if kind == "allocate_long_term":
        name = _text(params, "sprint", 200)
        engineers = _people(ctx, params, required=False)
        project = ctx.process.spec.council.engineering_project
        if remote is not None and remote.jira:
            try:
                sprint = remote.find_sprint(project, name)
            except ValueError as exc:
                raise InvalidInput("sprint", str(exc)) from exc
            end = sprint.get("end")
            due = _sprint_end(end) if end else None
            if due is None:
                ends = _text(params, "sprint_ends", 40, required=False)
                if not ends:
                    raise InvalidInput(
                        "sprint_ends", f"sprint {name!r} has no end date in JIRA: give its end"
                    )
                due = _sprint_end(ends)
            out = {"sprint": name, "sprint_id": sprint["id"], "engineers": engineers}
            return {**out, "project": project, "tracker": "jira"}, due
        ends = _text(params, "sprint_ends", 40)
        due = _sprint_end(ends)
        if due <= ctx.now:
            raise InvalidInput("sprint_ends", "the sprint has ended; name an open or future one")
        return {"sprint": name, "engineers": engineers, "tracker": "builtin"}, due
    if kind == "rollback_flag":
        flag = _text(params, "flag", 200)
        project = _text(params, "project", 200, required=False) or "default"
        environment = _text(params, "environment", 200)
        if remote is not None and remote.unleash:
            try:
                remote.check_flag(project, flag, environment)
            except ValueError as exc:
                raise InvalidInput("flag", str(exc)) from exc
        return {"flag": flag, "project": project, "environment": environment}, None
    if kind == "rollback_release":
        release = _text(params, "release", 300)
        service = _text(params, "service", 200, required=False)
        return {"release": release, "service": service}, None
    raise InvalidInput("kind", "one of " + ", ".join(rules.KINDS))


def get(ctx: Ctx, incident: Incident, decision_id: int) -> CouncilDecision:
    missing = f"no decision {decision_id} on {incident.key}"
    row = ctx.session.get(CouncilDecision, possible_id(decision_id, missing))
    if row is None or row.incident_id != incident.id:
        raise NotFound(missing)
    return row


def of(ctx: Ctx, incident: Incident) -> list[CouncilDecision]:
    return list(
        ctx.session.scalars(
            select(CouncilDecision)
            .where(CouncilDecision.incident_id == incident.id)
            .order_by(CouncilDecision.id)
        )
    )


def describe(decision: CouncilDecision) -> str:
    p = decision.params
    what = {
        "gather_info": lambda: f"ask {p.get('ask')}: {p.get('question')} (due in {p.get('due')})",
        "allocate_short_term": lambda: "allocate " + ", ".join(p.get("engineers", [])),
        "allocate_long_term": lambda: (
            f"allocate to sprint {p.get('sprint')}"
            + (" (" + ", ".join(p["engineers"]) + ")" if p.get("engineers") else "")
        ),
        "rollback_flag": lambda: (
            f"roll back flag {p.get('flag')} in {p.get('environment')} (project {p.get('project')})"
        ),
        "rollback_release": lambda: f"roll back release {p.get('release')}",
    }[decision.kind]()
    return f"#{decision.id} {what}"


def decide(
    ctx: Ctx,
    key: str,
    kind: str,
    *,
    reasons: str,
    params: dict[str, Any] | None = None,
    supersedes: int | None = None,
    remote: Remote | None = None,
) -> CouncilDecision:
    """Record a decision of the council (members only), and act on it once approved."""
    council.check_member(ctx)
    if kind not in rules.KINDS:
        raise InvalidInput("kind", "one of " + ", ".join(rules.KINDS))
    reasons = " ".join(reasons.split()) if reasons else ""
    if not reasons or len(reasons) > 5000:
        raise InvalidInput("reasons", "say why, in 1 to 5000 characters")
    incident = load(ctx, key)
    if Status(incident.status) not in ACTIVE:
        raise InvalidInput("incident", f"{incident.key} is {incident.status}: nothing to decide")
    if council.case_of(ctx, incident) is None:
        raise InvalidInput(
            "incident", f"{incident.key} was not brought to the council: bring it first"
        )
    old = _superseded(ctx, incident, supersedes)
    checked, due = _params(ctx, kind, dict(params or {}), remote)
    needed = ctx.process.spec.council.approvals.get(kind, 0)  # type: ignore[call-overload]
    row = CouncilDecision(
        incident_id=incident.id,
        kind=kind,
        state=AWAITING if needed else OPEN,
        decided_by=ctx.actor,
        decided_at=ctx.now,
        reasons=reasons,
        params=checked,
        approvals_needed=needed,
        approvals=[],
        due_at=due,
        supersedes_id=old.id if old else None,
        result={},
        updated_at=ctx.now,
    )
    ctx.session.add(row)
    ctx.session.flush()
    if old is not None:
        old.state, old.superseded_by_id, old.updated_at = SUPERSEDED, row.id, ctx.now
    note = f"{ctx.actor} decided: {describe(row)} — {reasons}"
    if old is not None:
        note += f" (supersedes #{old.id})"
    if needed:
        note += f"; needs {needed} approval{'s' if needed > 1 else ''} by further members"
    event = record(
        ctx,
        incident,
        "council_decision",
        note=note,
        data={"decision": row.id, "kind": kind, "params": checked, "supersedes": row.supersedes_id},
    )
    council.decided(ctx, incident)
    announce.changed(ctx, incident, event, f":classical_building: {announce.mrkdwn(note)}")
    events.publish(ctx, events.COUNCIL_DECIDED, incident, event)
    others = [m for m in council.members(ctx) if m != ctx.actor]
    ask = " — your approval is needed" if needed else ""
    notify(
        ctx,
        incident,
        people=others,
        subject=f"Council decision {describe(row)}{ask}: {incident.title}",
        body=reasons,
        because=event,
    )
    if needed:
        return row
    _act(ctx, incident, row)
    return row


def _superseded(ctx: Ctx, incident: Incident, supersedes: int | None) -> CouncilDecision | None:
    live = [d for d in of(ctx, incident) if d.state in LIVE]
    if supersedes is None:
        if live:
            d = live[-1]
            raise InvalidInput(
                "supersedes",
                f"{incident.key} already has decision {describe(d)} by {d.decided_by} "
                f"({d.state}): to decide otherwise, supersede it (supersedes={d.id})",
            )
        return None
    old = get(ctx, incident, supersedes)
    if old.state == SUPERSEDED:
        raise InvalidInput(
            "supersedes", f"decision #{old.id} was superseded already by #{old.superseded_by_id}"
        )
    return old


def _act(ctx: Ctx, incident: Incident, row: CouncilDecision) -> None:
    """What an approved decision does."""
    if row.kind == "gather_info":
        assert row.due_at is not None
        schedule(ctx, incident, INFO_DUE, row.due_at, {"decision": row.id})
        ask = row.params["ask"]
        asked = people.holders(ctx, SECOND_TIER) if ask in ("second_tier", "customer") else [ask]
        via = " (ask the customer through COMMUNICATE)" if ask == "customer" else ""
        event = record(
            ctx,
            incident,
            "info_requested",
            note=f"asked {ask}{via}: {row.params['question']} — due {row.due_at:%Y-%m-%d %H:%M} "
            "UTC",
            data={"decision": row.id},
        )
        notify(
            ctx,
            incident,
            people=asked,
            subject=f"The council asks{via}: {row.params['question']}",
            body=f"Answer by {row.due_at:%Y-%m-%d %H:%M} UTC in the console, under "
            f'"Engineering Council" at /incidents/{incident.key}/council (or: escalator '
            f"council answer {incident.key} {row.id} --text …).",
            because=event,
        )
    elif row.kind in ("allocate_short_term", "allocate_long_term"):
        assert row.due_at is not None
        if row.kind == "allocate_long_term":
            cancel_timers(ctx, incident, RESOLUTION_TIMERS)
            before = incident.resolution_due_at
            incident.resolution_due_at = row.due_at
            record(
                ctx,
                incident,
                "resolution_clock_replaced",
                note=f"the resolution clock is now the end of sprint {row.params['sprint']}: "
                f"{row.due_at:%Y-%m-%d %H:%M} UTC"
                + (f" (was {before:%Y-%m-%d %H:%M} UTC)" if before else ""),
                data={"decision": row.id, "due_at": row.due_at.isoformat()},
            )
            if row.params.get("tracker") == "jira":
                rollback.file_engineering_ticket(ctx, incident, row)
        schedule(ctx, incident, WORK_DUE, row.due_at, {"decision": row.id})
        event = record(
            ctx,
            incident,
            "engineers_allocated",
            note=f"{', '.join(row.params['engineers']) or 'the team'} on it, due "
            f"{row.due_at:%Y-%m-%d %H:%M} UTC",
            data={"decision": row.id},
        )
        notify(
            ctx,
            incident,
            people=row.params["engineers"],
            subject=f"The council allocated you, due {row.due_at:%Y-%m-%d %H:%M} UTC: "
            f"{incident.title}",
            because=event,
        )
    else:
        rollback.act(ctx, incident, row, describe(row))


def approve(ctx: Ctx, key: str, decision_id: int, *, note: str = "") -> CouncilDecision:
    """A further member approves a decision; the last approval needed makes it act."""
    council.check_member(ctx, "approve council decisions")
    incident = load(ctx, key)
    row = get(ctx, incident, decision_id)
    if row.state != AWAITING:
        raise InvalidInput("decision", f"decision #{row.id} is {row.state}: nothing to approve")
    if ctx.actor == row.decided_by:
        raise InvalidInput(
            "decision", f"{ctx.actor} made decision #{row.id}: another member approves it"
        )
    if any(a.get("by") == ctx.actor for a in row.approvals):
        raise InvalidInput("decision", f"{ctx.actor} approved decision #{row.id} already")
    row.approvals = [*row.approvals, {"by": ctx.actor, "at": ctx.now.isoformat(), "note": note}]
    row.updated_at = ctx.now
    missing = rules.approvals_missing(
        row.approvals_needed, row.decided_by, [a["by"] for a in row.approvals]
    )
    text = f"{ctx.actor} approved {describe(row)}" + (
        f"; {missing} more needed" if missing else "; approved, acting now"
    )
    event = record(ctx, incident, "council_approval", note=text, data={"decision": row.id})
    announce.changed(ctx, incident, event, f":ballot_box_with_check: {announce.mrkdwn(text)}")
    events.publish(ctx, events.COUNCIL_DECIDED, incident, event)
    if not missing:
        row.state = OPEN
        _act(ctx, incident, row)
    return row


def confirm(ctx: Ctx, key: str, decision_id: int, *, note: str = "") -> CouncilDecision:
    """A member confirms a rollback done by hand."""
    council.check_member(ctx, "confirm council rollbacks")
    incident = load(ctx, key)
    row = get(ctx, incident, decision_id)
    if row.state != rollback.MANUAL:
        raise InvalidInput(
            "decision",
            f"decision #{row.id} is {row.state}: only a rollback to do by hand is confirmed",
        )
    rollback.done(ctx, incident, row, {"by_hand": ctx.actor, "note": note})
    return row


def answer(ctx: Ctx, key: str, decision_id: int, *, text: str) -> CouncilDecision:
    """The answer to the council's request for information (whoever has it)."""
    check_action(ctx.actor, people.roles_of(ctx, ctx.actor), "council.answer")
    text = text.strip()
    if not text or len(text) > 20000:
        raise InvalidInput("text", "the answer, in 1 to 20000 characters")
    incident = load(ctx, key)
    row = get(ctx, incident, decision_id)
    if row.kind != "gather_info" or row.state != OPEN:
        raise InvalidInput("decision", f"decision #{row.id} is not an open request for information")
    row.state, row.updated_at = ANSWERED, ctx.now
    row.result = {"answer": text, "by": ctx.actor, "at": ctx.now.isoformat()}
    event = record(
        ctx,
        incident,
        "info_answered",
        note=f"{ctx.actor} answered: {text}",
        data={"decision": row.id},
    )
    events.publish(ctx, events.COUNCIL_DECIDED, incident, event)
    notify(
        ctx,
        incident,
        people=council.members(ctx),
        subject=f"The council's question is answered: {incident.title}",
        body=text,
        because=event,
    )
    council.back_to_queue(ctx, incident, f"{ctx.actor} answered the council's question")
    return row


def on_finished(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """Resolved or closed: the council's questions still open (or awaiting approval) are moot;
    they close, their clocks stop, and the timeline says so."""
    for row in of(ctx, incident):
        if row.kind != "gather_info" or row.state not in (OPEN, AWAITING):
            continue
        row.state, row.updated_at = MOOT, ctx.now
        row.result = {**row.result, "moot": incident.status, "at": ctx.now.isoformat()}
        for timer in ctx.session.scalars(
            select(Timer).where(
                Timer.incident_id == incident.id, Timer.kind == INFO_DUE, Timer.state == "pending"
            )
        ):
            if timer.payload.get("decision") == row.id:
                timer.state, timer.fired_at = "cancelled", ctx.now
        record(
            ctx,
            incident,
            "info_moot",
            note=f"the council's question #{row.id} ({row.params.get('question')}) is moot: "
            f"the incident was {incident.status}",
            data={"decision": row.id},
        )


def _timer_decision(ctx: Ctx, incident: Incident, timer: Timer) -> CouncilDecision | None:
    row = ctx.session.get(CouncilDecision, int(timer.payload.get("decision", 0)))
    if row is None or row.state != OPEN or Status(incident.status) not in ACTIVE:
        return None
    return row


def on_info_due(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    row = _timer_decision(ctx, incident, timer)
    if row is None:
        return
    event = record(
        ctx,
        incident,
        "info_overdue",
        note=f"no answer from {row.params.get('ask')} to the council's question",
        data={"decision": row.id},
    )
    notify(
        ctx,
        incident,
        people=people.holders(ctx, ENGINEERING_MANAGER),
        subject=f"Unanswered council question: {incident.title}",
        body=str(row.params.get("question", "")),
        because=event,
    )


def on_work_due(ctx: Ctx, incident: Incident, timer: Timer) -> None:
    row = _timer_decision(ctx, incident, timer)
    if row is None:
        return
    event = record(
        ctx,
        incident,
        "allocation_overdue",
        note=f"not resolved by the allocation's due time ({describe(row)})",
        data={"decision": row.id, "clock": row.kind},
    )
    events.publish(ctx, events.BREACHED, incident, event)
    notify(
        ctx,
        incident,
        people=list(row.params.get("engineers", [])) + people.holders(ctx, ENGINEERING_MANAGER),
        subject=f"Allocation overdue: {incident.title}",
        because=event,
    )
