"""Keeping the team's channels in step with an incident: the Slack root message (updated in
place) and its thread, and the PagerDuty alert (trigger, acknowledge, resolve).

Every message is an outbox row written in the caller's transaction, with an idempotency key
derived from the timeline event that caused it. Root-message updates are coalesced: while
one waits to be sent, a newer one replaces it. Alerts folding into an incident are told as one
thread reply per burst ("+37 alert changes"), not one per alert.

Outside text (alert titles, email subjects and bodies, forum posts, notes) is escaped for
Slack's mrkdwn here, at the one place that renders for Slack, so that it cannot ping a
channel (``<!channel>``) or disguise a link (``<https://evil|reset password>``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from escalator.domain.council import KINDS
from escalator.domain.lifecycle import Status
from escalator.domain.permissions import ESCALATE_TO
from escalator.domain.roles import ENGINEERING_COUNCIL
from escalator.process.core.context import Ctx
from escalator.process.core.records import enqueue, one_line
from escalator.store.models import CouncilCase, Incident, TimelineEvent

SLACK = "slack"
PAGERDUTY = "pagerduty"

_ICON = {
    "open": ":red_circle:",
    "acknowledged": ":large_orange_circle:",
    "resolved": ":white_check_mark:",
    "closed": ":black_circle:",
}
_PD_SEVERITY = {
    "critical": "critical",
    "page": "critical",
    "error": "error",
    "warning": "warning",
    "info": "info",
}


def slack_channel(ctx: Ctx, incident: Incident) -> str:
    service = ctx.process.spec.services.get(str(incident.details.get("service", "")))
    if service and service.slack_channel:
        return service.slack_channel
    slack = ctx.process.spec.slack
    return slack.alerts if incident.source == "alarm" else slack.support


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn reserves &, < and >: outside text must not make a link of its own."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_text(incident: Incident) -> str:
    owner = incident.owner_person or "unassigned"
    clock = ""
    if (
        incident.triage_due_at
        and not incident.severity
        and incident.status in ("open", "acknowledged")
    ):
        clock = f" · :stopwatch: triage due {incident.triage_due_at:%H:%M} UTC"
    elif incident.resolution_due_at and incident.status in ("open", "acknowledged"):
        clock = f" · :stopwatch: resolve by {incident.resolution_due_at:%Y-%m-%d %H:%M} UTC"
    return (
        f"{_ICON.get(incident.status, '')} *{incident.key}* {mrkdwn(incident.title)}\n"
        f"Status: *{incident.status}* · Stage: {incident.stage} · "
        f"Severity: {incident.severity or 'not triaged'} · Owner: {owner} ({incident.owner_role})"
        f"{clock}"
    )


def _facts(incident: Incident) -> list[str]:
    """Everything known, for the root message: who, account, channel, text, links, files."""
    d = incident.details
    lines = [f"Source: {incident.source} via {incident.channel}"]
    for key, label in (
        ("from", "From"),
        ("caller", "Caller"),
        ("contact", "Contact"),
        ("account_name", "Account"),
        ("account", "Account id"),
        ("account_tier", "Tier"),
        ("service", "Service"),
        ("severity", "Alert severity"),
        ("url", "Link"),
    ):
        if d.get(key):
            lines.append(f"{label}: {mrkdwn(str(d[key]))}")
    for link in d.get("links", []) or []:
        href = str(link.get("href", "")) if isinstance(link, dict) else ""
        if href.startswith(("http://", "https://")) and "|" not in href:
            text = str(link.get("text") or href).replace("|", "¦")
            lines.append(f"<{mrkdwn(href)}|{mrkdwn(text)}>")
    if d.get("attachments"):
        lines.append("Attachments: " + mrkdwn(", ".join(str(a) for a in d["attachments"])))
    if incident.description:
        lines.append("> " + mrkdwn(incident.description[:2500]).replace("\n", "\n> "))
    return lines


# the root message's buttons: action ids the Slack face (escalator/slack) answers; the value
# is always the incident's key
ACKNOWLEDGE = "esc.acknowledge"
CLAIM = "esc.claim"
TRIAGE = "esc.triage"
DECIDE = "esc.decide"
BRING_IN = "esc.bring_in"
UPDATE = "esc.update"
RESOLVE = "esc.resolve"
TO_COUNCIL = "esc.to_council"  # REMEDIATE: hand the incident to the council (a modal for the note)
COUNCIL_DECIDE = "esc.council_decide"  # a council member picks a kind: that kind's modal
PAGE_BLOCK = "esc-page:"  # a page DM's actions: answered, the DM says so instead
DECISIONS = {  # the Support Manager's choices (ESCALATE's escalation.DECISIONS, as labels)
    "apply_playbook": "Apply the playbook",
    "no_playbook": "No playbook applies",
    "engineering_manager": "Engineering Manager (low severity)",
    "on_call": "On call (high severity)",
}
# the council's decisions (REMEDIATE's decision kinds), as labels
COUNCIL_KINDS = {kind: label[:1].upper() + label[1:] for kind, label in KINDS.items()}


def _button(text: str, action_id: str, key: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": key,
    }
    if style:
        button["style"] = style
    return button


def _select(placeholder: str, action_id: str, key: str, choices: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": placeholder},
        "options": [
            {"text": {"type": "plain_text", "text": label}, "value": f"{key} {value}"}
            for value, label in choices.items()
        ],
    }


def buttons(incident: Incident, *, council_waiting: bool = False) -> list[dict[str, Any]]:
    """The actions the incident's state allows, as the console offers them: acknowledge while
    open, triage until the severity is known, the Support Manager's decision while it owns
    it, bringing in help once on call is involved, handing it to the Engineering Council
    while a manager, on call or an SME holds it, the council's decision while it waits in
    the council's queue (``council_waiting``), customer updates, resolve."""
    key, status = incident.key, incident.status
    active = status in (Status.OPEN, Status.ACKNOWLEDGED)
    chosen: list[dict[str, Any]] = []
    if status == Status.OPEN:
        chosen.append(_button("Acknowledge", ACKNOWLEDGE, key, "primary"))
    if active and incident.owner_role in ("first_tier", "second_tier") and not incident.severity:
        chosen.append(_button("Claim triage", CLAIM, key))
    if active and incident.stage in ("alert", "triage", "escalate"):
        chosen.append(_button("Open triage", TRIAGE, key))
    if active and incident.owner_role == "support_manager":
        chosen.append(_select("Decide…", DECIDE, key, DECISIONS))
    if active and incident.policy is not None:
        chosen.append(_button("Bring in SME", BRING_IN, key))
    before_council = incident.stage == "remediate"
    if (
        active
        and incident.owner_role in ESCALATE_TO[ENGINEERING_COUNCIL]
        and incident.stage != "alert"
        and not before_council
    ):
        chosen.append(_button("To council", TO_COUNCIL, key))
    if active and before_council and council_waiting:
        chosen.append(_select("Decide (council)…", COUNCIL_DECIDE, key, COUNCIL_KINDS))
    if status != Status.CLOSED:
        chosen.append(_button("Post update", UPDATE, key))
    if active:
        chosen.append(_button("Resolve", RESOLVE, key, "danger"))
    return chosen


def _council_waiting(ctx: Ctx, incident: Incident) -> bool:
    """Whether the incident waits in the council's queue (REMEDIATE's case, read as data)."""
    if incident.stage != "remediate":  # before the council, whoever is in charge
        return False
    state = ctx.session.scalar(
        select(CouncilCase.state).where(CouncilCase.incident_id == incident.id)
    )
    return state == "waiting"


def _blocks(ctx: Ctx, incident: Incident, *, with_facts: bool) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary_text(incident)}}
    ]
    if with_facts:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "\n".join(_facts(incident))[:2900]},
            }
        )
    actions = buttons(incident, council_waiting=_council_waiting(ctx, incident))
    if actions:
        blocks.append({"type": "actions", "block_id": f"esc:{incident.key}", "elements": actions})
    return blocks


def direct_message(
    ctx: Ctx,
    incident: Incident | None,
    person: str,
    text: str,
    *,
    subject: str,
    key: str,
    body: str = "",
    rank: int = 1,
    acknowledge: bool = False,
) -> bool:
    """A Slack DM to ``person``, if Slack is on and they have a Slack id; whether one went.
    ``acknowledge``: with an Acknowledge button for the incident (a page)."""
    contact = ctx.process.person(person)
    if not (ctx.channels.slack and contact is not None and contact.slack):
        return False
    payload: dict[str, Any] = {"op": "root", "text": text}
    if acknowledge and incident is not None:
        payload["blocks"] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "block_id": f"{PAGE_BLOCK}{incident.key}",
                "elements": [_button("Acknowledge", ACKNOWLEDGE, incident.key, "primary")],
            },
        ]
    enqueue(
        ctx,
        incident=incident,
        channel=SLACK,
        destination=contact.slack,
        subject=subject,
        body=body,
        idempotency_key=key,
        payload=payload,
        rank=rank,
    )
    return True


def opened(ctx: Ctx, incident: Incident, event: TimelineEvent) -> None:
    """A new incident: root message in the alerts or support channel; page for alarms."""
    if ctx.channels.slack:
        enqueue(
            ctx,
            incident=incident,
            channel=SLACK,
            destination=slack_channel(ctx, incident),
            subject=f"{incident.key} {incident.title}",
            idempotency_key=f"slack:root:{incident.id}",
            payload={
                "op": "root",
                "text": f"{incident.key} opened: {mrkdwn(incident.title)}",
                "blocks": _blocks(ctx, incident, with_facts=True),
            },
        )
    if incident.source == "alarm":
        # the first page of an alarm: it leaves before any chatter, like an on-call page
        _pagerduty(ctx, incident, event, "trigger", rank=0)


def _update_root(ctx: Ctx, incident: Incident, event: TimelineEvent, destination: str) -> None:
    """The root message shows the incident as it is now; a newer update replaces one that
    has not gone out yet."""
    enqueue(
        ctx,
        incident=incident,
        channel=SLACK,
        destination=destination,
        subject=f"{incident.key} update",
        idempotency_key=f"slack:update:{event.ref}",
        payload={
            "op": "update",
            "text": f"{incident.key} {incident.status}: {mrkdwn(incident.title)}",
            "blocks": _blocks(ctx, incident, with_facts=True),
        },
        coalesce=f"slack:update:{incident.id}:{destination}",
    )


def changed(ctx: Ctx, incident: Incident, event: TimelineEvent, line: str) -> None:
    """Something happened: update the root message in place and add ``line`` (plain text,
    escaped here) to its thread."""
    if ctx.channels.slack:
        destination = slack_channel(ctx, incident)
        _update_root(ctx, incident, event, destination)
        if ctx.via == "slack":
            line += " (via Slack)"
        enqueue(
            ctx,
            incident=incident,
            channel=SLACK,
            destination=destination,
            subject=f"{incident.key} {line}",
            idempotency_key=f"slack:reply:{event.ref}",
            payload={"op": "reply", "text": mrkdwn(line)},
        )


def alert_changed(
    ctx: Ctx, incident: Incident, event: TimelineEvent, title: str, change: str
) -> None:
    """An alert of the incident fired, fired again or resolved: the root message is updated
    and the thread told, as one reply per burst that counts the changes while it waits."""
    if not ctx.channels.slack:
        return
    destination = slack_channel(ctx, incident)
    _update_root(ctx, incident, event, destination)
    new = {"op": "reply", "changes": {f"{title} {change}": 1}}
    merged = enqueue(
        ctx,
        incident=incident,
        channel=SLACK,
        destination=destination,
        subject=f"{incident.key} alert changes",
        idempotency_key=f"slack:reply:{event.ref}",
        payload=_digest(new),
        coalesce=f"slack:alerts:{incident.id}:{destination}",
        merge=lambda old, _: _digest(
            {**old, "changes": _add(old.get("changes", {}), new["changes"])}
        ),
    )
    merged.subject = one_line(f"{incident.key} {merged.payload['text']}")


def _add(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    total = dict(counts)
    for key, n in more.items():
        total[key] = total.get(key, 0) + n
    return total


def _digest(payload: dict[str, Any]) -> dict[str, Any]:
    """The thread reply's text from its counted changes: the most frequent five by name."""
    changes: dict[str, int] = payload["changes"]
    count = sum(changes.values())
    ranked = sorted(changes.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in ranked[:5])
    more = f" and {len(ranked) - 5} more" if len(ranked) > 5 else ""
    head = "1 alert change" if count == 1 else f"+{count} alert changes"
    return {**payload, "text": f":rotating_light: {head}: {mrkdwn(shown)}{more}"}


def status_changed(ctx: Ctx, incident: Incident, event: TimelineEvent, before: str) -> None:
    """PagerDuty follows the incident's status."""
    if incident.source != "alarm" or before == incident.status:
        return
    if incident.status == Status.ACKNOWLEDGED:
        _pagerduty(ctx, incident, event, "acknowledge")
    elif incident.status == Status.RESOLVED:
        _pagerduty(ctx, incident, event, "resolve")
    elif incident.status == Status.OPEN and before == Status.RESOLVED:
        _pagerduty(ctx, incident, event, "trigger", rank=0)


def pagerduty_service(ctx: Ctx, incident: Incident) -> str | None:
    """The service whose routing key pages for this incident, or None if nothing can page."""
    service = str(incident.details.get("service", ""))
    spec = ctx.process.spec.services.get(service)
    if spec and spec.pagerduty_routing_key:
        return service
    return "default" if ctx.channels.pagerduty_default_key else None


def _pagerduty(
    ctx: Ctx, incident: Incident, event: TimelineEvent, action: str, *, rank: int = 1
) -> None:
    service = pagerduty_service(ctx, incident)
    if service is None:
        return
    body: dict[str, Any] = {"event_action": action, "dedup_key": f"escalator-{incident.key}"}
    if action == "trigger":
        severity = str(incident.details.get("severity", "")).lower()
        body["payload"] = {
            "summary": f"{incident.key} {incident.title}"[:1024],
            "source": str(incident.details.get("service") or incident.channel)[:255],
            "severity": _PD_SEVERITY.get(severity, "critical"),
            "timestamp": incident.created_at.isoformat(),
            "custom_details": {
                "incident": incident.key,
                "labels": incident.details.get("labels", {}),
            },
        }
        body["client"] = "Escalator"
        links = [
            {"href": link["href"], "text": link.get("text", "")}
            for link in incident.details.get("links", []) or []
            if isinstance(link, dict)
            and str(link.get("href", "")).startswith(("http://", "https://"))
        ]
        if links:
            body["links"] = links
    enqueue(
        ctx,
        incident=incident,
        channel=PAGERDUTY,
        destination=service,
        subject=f"{action} {incident.key}",
        idempotency_key=f"pagerduty:{action}:{event.ref}",
        payload=body,
        rank=rank,
    )
