"""Which use case runs when a timer of each kind falls due."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from escalator.process import escalation, oncall, pages, tickets, triage
from escalator.process.context import Ctx
from escalator.store.models import Incident, Timer

TimerHandler = Callable[[Ctx, Incident, Timer], None]

HANDLERS: dict[str, TimerHandler] = {
    triage.DEADLINE: triage.on_deadline,
    triage.WARNING: triage.on_warning,
    pages.ACK_TIMEOUT: escalation.on_ack_timeout,
    pages.BRING_IN: escalation.on_bring_in,
    escalation.RESOLUTION_WARNING: escalation.on_resolution_warning,
    escalation.RESOLUTION_DEADLINE: escalation.on_resolution_deadline,
    oncall.HANDOFF: oncall.on_handoff,
}

Receipt = Callable[[Ctx, dict[str, Any], dict[str, Any]], None]

# what a delivered message's answer means to the process, by the message's "receipt" name
RECEIPTS: dict[str, Receipt] = {
    tickets.CREATED: tickets.on_created,
}
