"""The outbox as people see it: what was sent, what is waiting, what died, and retrying it."""

from __future__ import annotations

from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound, possible_id
from escalator.process.core.records import record
from escalator.store.models import Incident, OutboxMessage


def retry(ctx: Ctx, message_id: int) -> OutboxMessage:
    """Send a dead-lettered message again, from its first try."""
    missing = f"no message {message_id}"
    row = ctx.session.get(
        OutboxMessage, possible_id(message_id, missing), with_for_update=ctx.is_postgres
    )
    if row is None:
        raise NotFound(missing)
    if row.state != "dead":
        raise InvalidInput(
            "state", f"message {message_id} is {row.state}; only dead messages can be retried"
        )
    row.state, row.attempts, row.next_attempt_at = "pending", 0, ctx.now
    row.lease_until = row.claimed_by = None
    if row.incident_id is not None:
        incident = ctx.session.get(Incident, row.incident_id)
        if incident is not None:
            record(
                ctx,
                incident,
                "message_retried",
                note=f"{row.channel} to {row.destination}: {row.subject}",
            )
    return row
