"""Keeping the team's channels in step with an incident: the Slack root message (updated in
place) and its thread, and the PagerDuty alert (trigger, acknowledge, resolve).

Every message is an outbox row written in the caller's transaction, with an idempotency key
derived from the timeline event that caused it.
"""

from __future__ import annotations

from typing import Any

from escalator.domain.lifecycle import Status
from escalator.process.context import Ctx
from escalator.process.records import enqueue
from escalator.store.models import Incident, TimelineEvent

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


def summary_text(incident: Incident) -> str:
    owner = incident.owner_person or "unassigned"
    clock = ""
    if (
        incident.triage_due_at
        and not incident.severity
        and incident.status in ("open", "acknowledged")
    ):
        clock = f" · :stopwatch: triage due {incident.triage_due_at:%H:%M} UTC"
    return (
        f"{_ICON.get(incident.status, '')} *{incident.key}* {incident.title}\n"
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
            lines.append(f"{label}: {d[key]}")
    for link in d.get("links", []) or []:
        if isinstance(link, dict) and link.get("href"):
            lines.append(f"<{link['href']}|{link.get('text') or link['href']}>")
    if d.get("attachments"):
        lines.append("Attachments: " + ", ".join(str(a) for a in d["attachments"]))
    if incident.description:
        lines.append(f"> {incident.description[:2500]}")
    return lines


def _blocks(incident: Incident, *, with_facts: bool) -> list[dict[str, Any]]:
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
    return blocks


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn reserves &, < and >: outside text must not make a link of its own."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
) -> bool:
    """A Slack DM to ``person``, if Slack is on and they have a Slack id; whether one went."""
    contact = ctx.process.person(person)
    if not (ctx.channels.slack and contact is not None and contact.slack):
        return False
    enqueue(
        ctx,
        incident=incident,
        channel=SLACK,
        destination=contact.slack,
        subject=subject,
        body=body,
        idempotency_key=key,
        payload={"op": "root", "text": text},
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
                "text": f"{incident.key} opened: {incident.title}",
                "blocks": _blocks(incident, with_facts=True),
            },
        )
    if incident.source == "alarm":
        _pagerduty(ctx, incident, event, "trigger")


def changed(ctx: Ctx, incident: Incident, event: TimelineEvent, line: str) -> None:
    """Something happened: update the root message in place and add ``line`` to its thread."""
    if ctx.channels.slack:
        destination = slack_channel(ctx, incident)
        enqueue(
            ctx,
            incident=incident,
            channel=SLACK,
            destination=destination,
            subject=f"{incident.key} update",
            idempotency_key=f"slack:update:{event.id}",
            payload={
                "op": "update",
                "text": f"{incident.key} {incident.status}: {incident.title}",
                "blocks": _blocks(incident, with_facts=True),
            },
        )
        enqueue(
            ctx,
            incident=incident,
            channel=SLACK,
            destination=destination,
            subject=f"{incident.key} {line}"[:500],
            idempotency_key=f"slack:reply:{event.id}",
            payload={"op": "reply", "text": line},
        )


def status_changed(ctx: Ctx, incident: Incident, event: TimelineEvent, before: str) -> None:
    """PagerDuty follows the incident's status."""
    if incident.source != "alarm" or before == incident.status:
        return
    if incident.status == Status.ACKNOWLEDGED:
        _pagerduty(ctx, incident, event, "acknowledge")
    elif incident.status == Status.RESOLVED:
        _pagerduty(ctx, incident, event, "resolve")
    elif incident.status == Status.OPEN and before == Status.RESOLVED:
        _pagerduty(ctx, incident, event, "trigger")


def pagerduty_service(ctx: Ctx, incident: Incident) -> str | None:
    """The service whose routing key pages for this incident, or None if nothing can page."""
    service = str(incident.details.get("service", ""))
    spec = ctx.process.spec.services.get(service)
    if spec and spec.pagerduty_routing_key:
        return service
    return "default" if ctx.channels.pagerduty_default_key else None


def _pagerduty(ctx: Ctx, incident: Incident, event: TimelineEvent, action: str) -> None:
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
        idempotency_key=f"pagerduty:{action}:{event.id}",
        payload=body,
    )
