"""How the stages plug together: which stage acts on each moment of an incident's life, which
use case runs when a timer of each kind falls due, and what a delivered message's answer
means. The one module that names every stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from escalator.process.alert import alarms
from escalator.process.communicate import clock, closing, contacts, updates
from escalator.process.core import events
from escalator.process.core.context import Ctx
from escalator.process.escalate import escalation, pages, paging, resolution, rotations
from escalator.process.postmortem import actions, measures, retrospective, review
from escalator.process.remediate import council, decisions, rollback
from escalator.process.triage import kickoff, related, tickets
from escalator.store.models import Incident, Timer

TimerHandler = Callable[[Ctx, Incident, Timer], None]
Receipt = Callable[[Ctx, dict[str, Any], dict[str, Any]], None]

SUBSCRIPTIONS: dict[str, list[events.Subscriber]] = {
    events.OPENED: [kickoff.start, contacts.on_opened],
    events.ACKNOWLEDGED: [paging.on_acknowledged, measures.on_acknowledged],
    events.HANDED_OVER: [kickoff.on_handed_over, escalation.on_handed_over, council.on_handed_over],
    events.RESOLVED: [
        pages.closed,
        alarms.release_group,
        tickets.on_resolved,
        clock.on_resolved,
        retrospective.start,
        measures.on_resolved,
        council.on_resolved,
        decisions.on_finished,
        rollback.on_resolved,
    ],
    events.CLOSED: [council.on_resolved, decisions.on_finished],
    events.REOPENED: [clock.on_reopened],
    events.SEVERITY_CHANGED: [clock.on_severity_changed],
    events.TRIAGED: [measures.on_triaged],
    events.BREACHED: [measures.on_breached],
    events.CUSTOMER_HEARD: [contacts.on_heard],
    events.CUSTOMER_UPDATED: [tickets.on_customer_updated],
    events.COUNCIL_DECIDED: [tickets.on_council_decided],
}

# moves a stage may refuse, and why (each guard returns its reason or None)
GUARDS: dict[str, list[events.Guard]] = {
    events.CLOSING: [retrospective.refuses_close, closing.refuses_close],
}

HANDLERS: dict[str, TimerHandler] = {
    kickoff.DEADLINE: kickoff.on_deadline,
    kickoff.WARNING: kickoff.on_warning,
    pages.ACK_TIMEOUT: paging.on_ack_timeout,
    pages.BRING_IN: paging.on_bring_in,
    escalation.MANAGER_DECISION: escalation.on_decision_due,
    resolution.WARNING: resolution.on_warning,
    resolution.DEADLINE: resolution.on_deadline,
    rotations.HANDOFF: rotations.on_handoff,
    related.REFRESH_TERMS: related.on_refresh_terms,
    clock.REMINDER: clock.on_reminder,
    clock.OVERDUE: clock.on_overdue,
    actions.REMINDER: actions.on_reminder,
    review.REVIEW: review.on_review,
    council.WARNING: council.on_warning,
    council.DEADLINE: council.on_deadline,
    decisions.INFO_DUE: decisions.on_info_due,
    decisions.WORK_DUE: decisions.on_work_due,
    rollback.VERIFY: rollback.on_verify,
}

# timers of no incident that arm themselves again when they fire; a starting worker makes
# sure each is armed
ARMERS: list[Callable[[Ctx], None]] = [
    rotations.ensure_handoff_timers,
    related.ensure_refresh_timer,
    review.ensure_review_timer,
]

# what a delivered message's answer means to the process, by the message's "receipt" name
RECEIPTS: dict[str, Receipt] = {
    tickets.CREATED: tickets.on_created,
    updates.SENT: updates.on_sent,
    rollback.ROLLED_BACK: rollback.on_rolled_back,
}

events.install(SUBSCRIPTIONS, GUARDS)
