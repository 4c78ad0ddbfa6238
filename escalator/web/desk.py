"""The console as a support desk: what a person may do next on an incident, the clocks that
run on it as countdowns, and the queues each person works from (each asked of the database:
``process.core.queues``). Pure reads of rows already loaded; the use cases still check
everything again when a button is pressed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from escalator.domain.durations import format_duration
from escalator.domain.permissions import ACTION_ROLES, ESCALATE_TO
from escalator.process.core import queues

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import Incident, Timer

ACTIVE = queues.ACTIVE
SOON = queues.SOON  # "breaching soon": a clock due within this, or overdue
CLOCK_LABELS = queues.CLOCK_LABELS  # the clocks a person waits on, by timer kind


@dataclass(frozen=True)
class Clock:
    label: str
    due_at: datetime
    seconds_left: int

    @property
    def overdue(self) -> bool:
        return self.seconds_left <= 0

    @property
    def soon(self) -> bool:
        return self.seconds_left <= SOON.total_seconds()

    @property
    def text(self) -> str:
        return countdown(self.seconds_left)

    @property
    def iso(self) -> str:
        """The due time for console.js, always with its offset."""
        due = self.due_at if self.due_at.tzinfo else self.due_at.replace(tzinfo=UTC)
        return due.isoformat()

    @property
    def tone(self) -> str:
        return "overdue" if self.overdue else "soon" if self.soon else "running"


def countdown(seconds: int) -> str:
    """``due in 12 min`` / ``overdue 3 min``: minutes under two hours, then hours and days."""
    span = abs(seconds)
    if span < 60:
        amount = f"{span} s"
    elif span < 2 * 3600:
        amount = f"{span // 60} min"
    else:
        amount = format_duration(timedelta(minutes=span // 60))
    return f"overdue {amount}" if seconds <= 0 else f"due in {amount}"


def clocks(incident: Incident, timers: Iterable[Timer], now: datetime) -> list[Clock]:
    """Every clock running on the incident, soonest first. A triage deadline that already
    fired stays on the incident (overdue) until it is triaged."""
    if incident.status not in ACTIVE:
        return []
    out: dict[str, Clock] = {}
    for t in timers:
        label = CLOCK_LABELS.get(t.kind)
        if label is None or t.state != "pending":
            continue
        seconds = int((t.due_at - now).total_seconds())
        if label not in out or out[label].due_at > t.due_at:
            out[label] = Clock(label, t.due_at, seconds)
    untriaged = not incident.severity and incident.stage in ("alert", "triage")
    if incident.triage_due_at and untriaged and "Triage" not in out:
        due = incident.triage_due_at
        out["Triage"] = Clock("Triage", due, int((due - now).total_seconds()))
    if incident.resolution_due_at and "Resolve" not in out:
        due = incident.resolution_due_at
        out["Resolve"] = Clock("Resolve", due, int((due - now).total_seconds()))
    return sorted(out.values(), key=lambda c: c.due_at)


@dataclass(frozen=True)
class Offer:
    """One thing the person may do now: a button (``action`` posts to
    ``/incidents/KEY/ACTION``) or a link to the page where the stage's work is."""

    action: str
    label: str
    next: bool = False
    href: str = ""
    options: Sequence[tuple[str, str]] = field(default_factory=tuple)


def offers(
    incident: Incident,
    person: str,
    roles: frozenset[str],
    *,
    paging_me: bool = False,
    decided: bool = False,
    playbook_outcome: str | None = None,
    decisions: dict[str, str] | None = None,
) -> list[Offer]:
    """What ``person`` may do on ``incident`` in its state, the expected next step first and
    marked; nothing for someone with no role or on a closed incident."""
    if not roles or incident.status == "closed":
        return []
    key, status = incident.key, incident.status
    active = status in ACTIVE
    mine = incident.owner_person == person
    owner_role = incident.owner_role or ""
    in_role = owner_role in roles
    expected = mine or paging_me or (in_role and not incident.owner_person)
    manager = roles & ACTION_ROLES["escalation.decide"]
    # a severe incident waits for the Support Manager: deciding is their next step
    waiting = bool(manager) and owner_role in ACTION_ROLES["escalation.decide"] and not decided
    waiting = waiting and active and not incident.policy and incident.stage != "remediate"
    # on call only once the playbook failed or fits nothing: the decision's rule, everywhere
    playbook_failed = playbook_outcome in ("failed", "not_applicable")
    found: list[Offer] = []
    # only the owning role's holders take it (never anyone under a role they do not hold)
    if status == "open" and (mine or paging_me or in_role or not owner_role):
        found.append(Offer("acknowledge", "Acknowledge", next=expected and not waiting))
    elif status == "acknowledged" and paging_me:  # paged for help: join as a responder
        found.append(Offer("acknowledge", "Acknowledge and join", next=True))
    if active and incident.stage in ("alert", "triage") and not incident.severity:
        found.append(
            Offer(
                "triage",
                "Open the triage checklist",
                next=expected and status != "open",
                href=f"/incidents/{key}/triage",
            )
        )
    if active and in_role and not mine:
        found.append(Offer("claim", "Claim", next=in_role and not incident.owner_person))
    if active and manager and not incident.policy:
        choices = [
            (value, label)
            for value, label in (decisions or {}).items()
            if value != "on_call" or playbook_failed
        ]
        found.append(Offer("decision", "Decide", next=waiting, options=choices))
    if active and incident.policy:
        chain = [str(s).partition(".")[0] for s in incident.policy["chains"].get("bring_in", [])]
        if chain and roles & ESCALATE_TO.get(chain[0], frozenset()):
            found.append(Offer("bring-in", "Bring in the SME / EM now"))
    targets = [
        (r, r.replace("_", " "))
        for r, allowed in ESCALATE_TO.items()
        if active
        and roles & allowed
        and r != owner_role
        and (r != "on_call_engineer" or (manager and not incident.policy and playbook_failed))
        and (r != "engineering_council" or incident.stage not in ("alert", "remediate"))
    ]
    if targets:
        found.append(Offer("escalate", "Escalate", options=targets))
    if active:
        found.append(
            Offer(
                "resolve",
                "Resolve",
                next=mine and status == "acknowledged" and not any(o.next for o in found),
            )
        )
    if status == "resolved":
        # its owner (who had the incident) and the managers write it; others may read it
        writes = mine or bool(roles & ACTION_ROLES["postmortem.write"])
        found.append(
            Offer(
                "postmortem",
                "Write the post-mortem" if writes else "Read the post-mortem",
                href=f"/incidents/{key}/postmortem",
                next=writes,
            )
        )
        if roles & ACTION_ROLES["incident.close"]:
            found.append(Offer("close", "Close"))
        found.append(Offer("reopen", "Reopen"))
    # one step is the next one: the first marked
    seen = False
    marked = []
    for o in found:
        if o.next and not seen:
            seen = True
            marked.append(o)
        elif o.next:
            marked.append(Offer(o.action, o.label, False, o.href, o.options))
        else:
            marked.append(o)
    return sorted(marked, key=lambda o: not o.next)


def fingerprint(*parts: object) -> str:
    """A short token that changes when any part does: the live refresh sends a page part
    only when its incident changed."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


# the queues, in the order the navigation shows them: (name, label); each is a question to
# the database (process.core.queues), counted and paged there
QUEUES = queues.QUEUES
QUEUE_NAMES = dict(QUEUES)
