"""The console's queues as questions to the database: which incidents each one holds, newest
first, and how many (a badge counts up to ``BADGE_UP_TO``, a queue's page up to
``COUNT_UP_TO``, and each says when there are more).

A year holds 200,000 incidents and thousands of them may be live at once, so a queue is never
cut from rows loaded into Python: each is a WHERE clause that the database counts (stopping at
the cap, from the index that holds every column a queue asks) and pages by key, like the
incident list itself."""

from __future__ import annotations

import functools
import operator
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, Session

from escalator.domain.permissions import ACTION_ROLES
from escalator.process.core import queries
from escalator.store.models import Contact, Incident, Page, Timer

ACTIVE = ("open", "acknowledged")
LIVE = (*ACTIVE, "resolved")
SOON = timedelta(minutes=15)  # "breaching soon": a clock due within this, or overdue
# how far a queue is counted: its badge in the navigation ("99+" beyond), and its own page
# ("More than 1,000 incidents" beyond); a queue page lists 50 at a time either way
BADGE_UP_TO = 99
COUNT_UP_TO = 1000

# the clocks a person waits on, by timer kind (warnings and reminders are the engine's own)
CLOCK_LABELS = {
    "triage.deadline": "Triage",
    "escalate.manager_decision": "Manager's decision",
    "escalation.ack_timeout": "Page answered",
    "escalation.bring_in": "Bring in help",
    "resolution.deadline": "Resolve",
    "communicate.overdue": "Customer update",
}
# an incident's own due time stands for its clock while no timer of this kind is pending
TRIAGE_CLOCK = "triage.deadline"
RESOLVE_CLOCK = "resolution.deadline"
UNTRIAGED_STAGES = ("alert", "triage")
# a contact's clock runs when it has a due time: asked as "due after this" rather than "not
# null", which SQLite answers by reading every contact instead of the due_at index
RUNNING_SINCE = datetime(1970, 1, 1, tzinfo=UTC)

# the queues, in the order the navigation shows them: (name, label)
QUEUES = (
    ("mine", "Mine"),
    ("role", "My role's"),
    ("breaching", "Breaching soon"),
    ("triage", "Triage"),
    ("manager", "Support Manager"),
    ("escalated", "Escalated"),
    ("council", "Council"),
    ("updates", "Updates due"),
    ("postmortem", "Post-mortem due"),
)
NAMES = tuple(name for name, _ in QUEUES)


@dataclass(frozen=True)
class Count:
    """A queue's size as the console shows it: exact up to the cap, "99+" beyond."""

    value: int  # at most the cap
    exact: bool = True

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"

    def __bool__(self) -> bool:
        return self.value > 0


@dataclass(frozen=True)
class Who:
    """Whose queues: the person, the roles they act in, and the time the clocks run to."""

    person: str
    roles: frozenset[str]
    now: datetime


# The fixed values of a queue (its statuses, stages, timer kinds, the cap) are written into
# the SQL rather than bound: psycopg prepares a statement after five runs and PostgreSQL may
# then plan it once for any parameters; a plan that cannot see which statuses are asked
# reckons on half the incidents and reads them all (20 ms instead of 2 at 200,000).


def _is(column: QueryableAttribute[str | None], value: str) -> ColumnElement[bool]:
    return column == literal(value, literal_execute=True)


def _in(column: QueryableAttribute[str | None], values: Iterable[str]) -> ColumnElement[bool]:
    return column.in_(bindparam(None, list(values), expanding=True, literal_execute=True))


def _pending(kinds: Iterable[str], *where: ColumnElement[bool]) -> Select[int | None]:
    """The incidents with a pending timer of these kinds (an index range on the timers)."""
    return select(Timer.incident_id).where(
        _is(Timer.state, "pending"), _in(Timer.kind, kinds), Timer.incident_id.is_not(None), *where
    )


def _breaching(soon: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """A running clock due by ``soon`` (or overdue): a clock's pending timer, or the
    incident's own triage (untriaged) or resolution due time while no such timer is pending
    (as the console's clocks read them). Asked as the few incidents each of the three finds
    by its index, not as a test of every live incident (which PostgreSQL reads row by row)."""
    active = _in(Incident.status, ACTIVE)
    own_triage = select(Incident.id).where(
        active,
        _in(Incident.stage, UNTRIAGED_STAGES),
        or_(Incident.severity.is_(None), _is(Incident.severity, "")),
        Incident.triage_due_at <= soon,
        Incident.id.not_in(_pending([TRIAGE_CLOCK])),
    )
    own_resolution = select(Incident.id).where(
        active,
        Incident.resolution_due_at <= soon,
        Incident.id.not_in(_pending([RESOLVE_CLOCK])),
    )
    timed = _pending(CLOCK_LABELS, Timer.due_at <= soon)
    return Incident.id.in_(union_all(timed, own_triage, own_resolution))


def _no_policy() -> ColumnElement[bool]:
    """No escalation path frozen yet: SQL NULL, or the JSON ``null`` that storing ``None``
    in a JSON column writes."""
    return func.coalesce(cast(Incident.policy, Text), "null") == literal(
        "null", literal_execute=True
    )


def _ringing(person: str | BindParameter[str]) -> Select[int]:
    """The incidents paging ``person`` now."""
    return select(Page.incident_id).where(Page.person == person, _is(Page.state, "paging"))


def _where(
    name: str,
    person: str | BindParameter[str],
    roles: Collection[str] | BindParameter[list[str]],
    soon: datetime | BindParameter[datetime],
) -> ColumnElement[bool]:
    """Queue ``name``'s condition, for values or for parameters bound when it runs."""
    active = _in(Incident.status, ACTIVE)
    if name == "mine":  # theirs, or paging them now
        return and_(active, or_(Incident.owner_person == person, Incident.id.in_(_ringing(person))))
    if name == "role":
        return and_(active, Incident.owner_role.in_(roles))
    if name == "breaching":
        return and_(active, _breaching(soon))
    if name == "triage":
        return and_(active, _in(Incident.stage, UNTRIAGED_STAGES))
    if name == "manager":  # waiting for the Support Manager's decision
        return and_(
            active,
            _in(Incident.owner_role, ACTION_ROLES["escalation.decide"]),
            _no_policy(),
            Incident.stage != literal("remediate", literal_execute=True),
        )
    if name == "escalated":
        return and_(active, _is(Incident.stage, "escalate"))
    if name == "council":
        return and_(active, _is(Incident.stage, "remediate"))
    if name == "updates":  # a customer is owed an update (their clock runs: a due time)
        owed = select(Contact.incident_id).where(Contact.due_at > RUNNING_SINCE)
        return and_(_in(Incident.status, LIVE), Incident.id.in_(owed))
    if name == "postmortem":
        return _is(Incident.status, "resolved")
    raise KeyError(name)


def where(name: str, who: Who) -> ColumnElement[bool]:
    """The incidents queue ``name`` holds for ``who``."""
    return _where(name, who.person, sorted(who.roles), who.now + SOON)


def _parts(
    name: str,
    person: str | BindParameter[str],
    roles: BindParameter[list[str]],
    soon: BindParameter[datetime],
) -> list[Select[int]]:
    """The queue as disjoint parts, each counted by an index: "Mine" is the incidents the
    person owns and those paging them that they do not (asked as one, PostgreSQL would read
    every live incident's row to test either)."""
    if name != "mine":
        return [select(Incident.id).where(_where(name, person, roles, soon))]
    active = _in(Incident.status, ACTIVE)
    owned = select(Incident.id).where(active, Incident.owner_person == person)
    others = or_(Incident.owner_person.is_(None), Incident.owner_person != person)
    paging = (  # from the person's pages (a few), not from every live incident
        select(Incident.id)
        .distinct()
        .select_from(Page)
        .join(Incident, Incident.id == Page.incident_id)
        .where(Page.person == person, _is(Page.state, "paging"), active, others)
    )
    return [owned, paging]


@functools.cache
def _counting(names: tuple[str, ...], cap: int) -> Select[Any]:
    """One statement counting each queue up to ``cap``, built once: the person, their roles
    and the time are bound when it runs (building it took longer than running it)."""
    person: BindParameter[str] = bindparam("person")
    soon: BindParameter[datetime] = bindparam("soon")
    roles: BindParameter[list[str]] = bindparam("roles", expanding=True)
    limit = literal(cap + 1, literal_execute=True)
    columns = []
    for name in names:
        counted = [
            select(func.count()).select_from(part.limit(limit).subquery()).scalar_subquery()
            for part in _parts(name, person, roles, soon)
        ]
        columns.append(functools.reduce(operator.add, counted).label(name))
    return select(*columns)


def counts(session: Session, who: Who, names: tuple[str, ...] = NAMES) -> dict[str, Count]:
    """How many incidents each queue holds, for its badge: each counted up to
    ``BADGE_UP_TO`` (one statement; each count stops at the cap, whatever a year left)."""
    cap = BADGE_UP_TO
    bound = {"person": who.person, "roles": sorted(who.roles), "soon": who.now + SOON}
    row = session.execute(_counting(names, cap), bound).one()
    return {name: Count(min(n, cap), n <= cap) for name, n in zip(names, row, strict=True)}


def listed(
    session: Session,
    name: str,
    who: Who,
    *,
    limit: int,
    before: int | None = None,
    search: str = "",
) -> queries.Page:
    """A page of the queue, newest first, paged by key like the incident list."""
    return queries.list_incidents(
        session,
        where=where(name, who),
        limit=limit,
        before=before,
        search=search,
        count_up_to=COUNT_UP_TO,
    )
