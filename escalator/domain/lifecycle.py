"""Incident states and the legal moves between them: one pure table, no I/O.

Two axes describe an incident:

* ``status`` — where the work is: open (nobody on it yet), acknowledged (an owner is on it),
  resolved (fixed, waiting for the weekly post mortem) and closed (post mortem done).
* ``stage`` — which stage of the seed process it is in: alert, triage, escalate,
  remediate, communicate, postmortem.

Every action maps the current :class:`IncidentState` to a new one or raises
:class:`IllegalTransition` naming the state that forbids it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Stage(StrEnum):
    ALERT = "alert"
    TRIAGE = "triage"
    ESCALATE = "escalate"
    REMEDIATE = "remediate"
    COMMUNICATE = "communicate"
    POSTMORTEM = "postmortem"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"


ACTIVE = frozenset({Status.OPEN, Status.ACKNOWLEDGED})

# action -> the statuses it may start from and the status it leads to
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.ACKNOWLEDGE: (frozenset({Status.OPEN}), Status.ACKNOWLEDGED),
    Action.ESCALATE: (ACTIVE, Status.OPEN),
    Action.RESOLVE: (ACTIVE, Status.RESOLVED),
    Action.REOPEN: (frozenset({Status.RESOLVED}), Status.OPEN),
    Action.CLOSE: (frozenset({Status.RESOLVED}), Status.CLOSED),
}

# roles whose work belongs to the REMEDIATE stage rather than ESCALATE
REMEDIATION_ROLES = frozenset({"engineering_council"})


class IllegalTransition(Exception):
    """An action the incident's current state does not allow."""

    def __init__(self, action: Action, state: IncidentState) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[action][0]))
        super().__init__(
            f"cannot {action.value} an incident that is {state.status.value} "
            f"(stage {state.stage.value}); {action.value} needs status {allowed}"
        )
        self.action = action
        self.state = state


class Finished(IllegalTransition):
    """A change to the work of an incident that is resolved or closed (its triage, its
    evidence): refused, naming the status, like an illegal move."""

    def __init__(self, what: str, state: IncidentState) -> None:
        how = (
            "reopen it first"
            if state.status is Status.RESOLVED
            else "a closed incident is read-only"
        )
        Exception.__init__(self, f"cannot {what}: the incident is {state.status.value} ({how})")
        self.action = Action.REOPEN
        self.state = state


def check_open(state: IncidentState, what: str) -> None:
    """Raise :class:`Finished` unless the incident is still open or acknowledged."""
    if state.status not in ACTIVE:
        raise Finished(what, state)


@dataclass(frozen=True)
class IncidentState:
    status: Status
    stage: Stage
    owner_role: str | None
    owner_person: str | None


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None
    after: str | None


def initial_state(*, owner_role: str, owner_person: str | None) -> IncidentState:
    """A new incident: open, at the ALERT stage, owned by whoever is notified first."""
    return IncidentState(Status.OPEN, Stage.ALERT, owner_role, owner_person)


def apply(
    state: IncidentState,
    action: Action,
    *,
    actor: str | None = None,
    to_role: str | None = None,
    to_person: str | None = None,
) -> IncidentState:
    """The state after ``action``; raises :class:`IllegalTransition` if it is not allowed."""
    sources, target = TRANSITIONS[action]
    if state.status not in sources:
        raise IllegalTransition(action, state)
    new = replace(state, status=target)
    if action is Action.ACKNOWLEDGE:
        stage = Stage.TRIAGE if state.stage is Stage.ALERT else state.stage
        return replace(new, stage=stage, owner_person=actor or state.owner_person)
    if action is Action.ESCALATE:
        if not to_role:
            raise ValueError("escalate needs the role to escalate to")
        # the council decides while whoever acknowledged it stays in charge
        council = to_role in REMEDIATION_ROLES and not to_person
        if council and state.status is Status.ACKNOWLEDGED and state.owner_person:
            return replace(state, stage=Stage.REMEDIATE)
        stage = Stage.REMEDIATE if to_role in REMEDIATION_ROLES else Stage.ESCALATE
        return replace(new, stage=stage, owner_role=to_role, owner_person=to_person)
    if action is Action.RESOLVE or action is Action.CLOSE:
        return replace(new, stage=Stage.POSTMORTEM)
    # REOPEN: back to triage with whoever owned it
    return replace(new, stage=Stage.TRIAGE)


def diff(before: IncidentState, after: IncidentState) -> list[Change]:
    """The fields that changed, in a fixed order, for the timeline."""
    changes = []
    for name in ("status", "stage", "owner_role", "owner_person"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes.append(Change(name, _text(old), _text(new)))
    return changes


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, StrEnum) else str(value)
