"""What one stage tells the others: named moments of an incident's life, and who listens.

The shared lifecycle (``core.lifecycle``) and the stages publish; the stages subscribe to
what concerns them. So ALERT opens an incident without importing TRIAGE, and resolving in
``core`` cancels pages, releases the alert group and closes the ticket without importing the
stages that own them. The subscriptions are listed in one place, ``process/stages.py``.
Subscribers run in the publisher's transaction, in the order listed.
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
MOMENTS = (OPENED, ACKNOWLEDGED, HANDED_OVER, RESOLVED, REOPENED, CLOSED)

Subscriber = Callable[[Ctx, Incident, TimelineEvent], None]

_subscribers: dict[str, tuple[Subscriber, ...]] = {}


def install(subscriptions: Mapping[str, Sequence[Subscriber]]) -> None:
    """Replace every subscription (done once, by ``process/stages.py``)."""
    unknown = set(subscriptions) - set(MOMENTS)
    if unknown:
        raise ValueError(f"no such moments: {', '.join(sorted(unknown))}")
    _subscribers.clear()
    _subscribers.update({name: tuple(handlers) for name, handlers in subscriptions.items()})


def publish(ctx: Ctx, moment: str, incident: Incident, event: TimelineEvent) -> None:
    """Tell every subscriber of ``moment``, in order, in this transaction."""
    for subscriber in _subscribers.get(moment, ()):
        subscriber(ctx, incident, event)
