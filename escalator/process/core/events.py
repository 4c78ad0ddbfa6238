"""What one stage tells the others: named moments of an incident's life, and who listens.

The shared lifecycle (``core.lifecycle``) and the stages publish; the stages subscribe to
what concerns them. So ALERT opens an incident without importing TRIAGE, and resolving in
``core`` cancels pages, releases the alert group and closes the ticket without importing the
stages that own them. The subscriptions are listed in one place, ``process/stages.py``.
Subscribers run in the publisher's transaction, in the order listed.

Questions are asked before a move: before an incident closes (``CLOSING``), each guard
that finds a reason not to close yet raises ``InvalidInput`` saying what is missing (a
customer never told it was resolved), and nothing is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from escalator.process.core.context import Ctx
from escalator.store.models import Incident, TimelineEvent

OPENED = "opened"  # a new incident (its "opened" timeline event)
ACKNOWLEDGED = "acknowledged"  # someone is on it
HANDED_OVER = "handed_over"  # now owned by another role or person
RESOLVED = "resolved"
REOPENED = "reopened"
CLOSED = "closed"
SEVERITY_CHANGED = "severity_changed"  # triage set or changed the severity
# a customer reached us: an email, a forum post or a call (new or on an open incident); the
# event's data says how ("email", "forum" or "phone" and the thread to answer in)
CUSTOMER_HEARD = "customer_heard"
CUSTOMER_UPDATED = "customer_updated"  # an update reached a customer (sent, or a call made)
MOMENTS = (
    OPENED,
    ACKNOWLEDGED,
    HANDED_OVER,
    RESOLVED,
    REOPENED,
    CLOSED,
    SEVERITY_CHANGED,
    CUSTOMER_HEARD,
    CUSTOMER_UPDATED,
)

# questions asked before a move: every guard may refuse it by raising InvalidInput
CLOSING = "closing"  # about to close
QUESTIONS = (CLOSING,)

Subscriber = Callable[[Ctx, Incident, TimelineEvent], None]
Guard = Callable[[Ctx, Incident], None]

_subscribers: dict[str, tuple[Subscriber, ...]] = {}
_guards: dict[str, tuple[Guard, ...]] = {}


def install(
    subscriptions: Mapping[str, Sequence[Subscriber]],
    guards: Mapping[str, Sequence[Guard]] | None = None,
) -> None:
    """Replace every subscription and guard (done once, by ``process/stages.py``)."""
    guards = guards or {}
    unknown = (set(subscriptions) - set(MOMENTS)) | (set(guards) - set(QUESTIONS))
    if unknown:
        raise ValueError(f"no such moments: {', '.join(sorted(unknown))}")
    _subscribers.clear()
    _subscribers.update({name: tuple(handlers) for name, handlers in subscriptions.items()})
    _guards.clear()
    _guards.update({name: tuple(checks) for name, checks in guards.items()})


def ask(ctx: Ctx, question: str, incident: Incident) -> None:
    """Ask every guard of ``question``; the first that objects raises, and the move stops."""
    for guard in _guards.get(question, ()):
        guard(ctx, incident)


def publish(ctx: Ctx, moment: str, incident: Incident, event: TimelineEvent) -> None:
    """Tell every subscriber of ``moment``, in order, in this transaction."""
    for subscriber in _subscribers.get(moment, ()):
        subscriber(ctx, incident, event)
