"""What one stage tells the others: named moments of an incident's life, and who listens.

The shared lifecycle (``core.lifecycle``) and the stages publish; the stages subscribe to
what concerns them. So ALERT opens an incident without importing TRIAGE, and resolving in
``core`` cancels pages, releases the alert group and closes the ticket without importing the
stages that own them. The subscriptions are listed in one place, ``process/stages.py``.
Subscribers run in the publisher's transaction, in the order listed.

Some moves may be refused by a stage that has not finished with the incident: before such a
move (*closing*), ``ask`` puts it to the move's guards, and each may answer why not (POST
MORTEM: the post-mortem is neither complete nor waived; COMMUNICATE: a customer was never
told it was resolved). The move is refused with every reason given, before anything is
written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput
from escalator.store.models import Incident, TimelineEvent

OPENED = "opened"  # a new incident (its "opened" timeline event)
ACKNOWLEDGED = "acknowledged"  # someone is on it
HANDED_OVER = "handed_over"  # now owned by another role or person
RESOLVED = "resolved"
REOPENED = "reopened"
CLOSED = "closed"
SEVERITY_CHANGED = "severity_changed"  # triage set or changed the severity
TRIAGED = "triaged"  # a severity was assessed (its event's change says from what)
BREACHED = "breached"  # a clock ran out (its event's data names the clock)
# a customer reached us: an email, a forum post or a call (new or on an open incident); the
# event's data says how ("email", "forum" or "phone" and the thread to answer in)
CUSTOMER_HEARD = "customer_heard"
CUSTOMER_UPDATED = "customer_updated"  # an update reached a customer (sent, or a call made)
# the Engineering Council decided (or a decision acted, or was checked); the note says what
COUNCIL_DECIDED = "council_decided"
MOMENTS = (
    OPENED,
    ACKNOWLEDGED,
    HANDED_OVER,
    RESOLVED,
    REOPENED,
    CLOSED,
    SEVERITY_CHANGED,
    TRIAGED,
    BREACHED,
    CUSTOMER_HEARD,
    CUSTOMER_UPDATED,
    COUNCIL_DECIDED,
)

CLOSING = "closing"  # about to close: guards may refuse
GUARDED = {CLOSING: "closed"}  # the moves guards may refuse, and how the refusal says it

Subscriber = Callable[[Ctx, Incident, TimelineEvent], None]
Guard = Callable[[Ctx, Incident], str | None]  # why the move may not happen, or None

_subscribers: dict[str, tuple[Subscriber, ...]] = {}
_guards: dict[str, tuple[Guard, ...]] = {}


def install(
    subscriptions: Mapping[str, Sequence[Subscriber]],
    guards: Mapping[str, Sequence[Guard]] | None = None,
) -> None:
    """Replace every subscription and guard (done once, by ``process/stages.py``)."""
    unknown = (set(subscriptions) - set(MOMENTS)) | (set(guards or {}) - set(GUARDED))
    if unknown:
        raise ValueError(f"no such moments: {', '.join(sorted(unknown))}")
    _subscribers.clear()
    _subscribers.update({name: tuple(handlers) for name, handlers in subscriptions.items()})
    _guards.clear()
    _guards.update({name: tuple(handlers) for name, handlers in (guards or {}).items()})


def ask(ctx: Ctx, moment: str, incident: Incident) -> None:
    """Put a move to its guards; raises InvalidInput with every reason against it."""
    reasons = [r for guard in _guards.get(moment, ()) if (r := guard(ctx, incident))]
    if reasons:
        move = GUARDED[moment]
        raise InvalidInput("incident", f"{incident.key} cannot be {move}: " + "; ".join(reasons))


def publish(ctx: Ctx, moment: str, incident: Incident, event: TimelineEvent) -> None:
    """Tell every subscriber of ``moment``, in order, in this transaction."""
    for subscriber in _subscribers.get(moment, ()):
        subscriber(ctx, incident, event)
