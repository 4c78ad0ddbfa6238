"""A CloudWatch alarm state change, as carried in an SNS Notification's ``Message``."""

from __future__ import annotations

from typing import Any

from escalator.domain.alerts import AlertIn, AlertStatus, Link
from escalator.domain.text import first_flaw
from escalator.integrations.inbound.common import (
    JsonError,
    PayloadError,
    clip,
    load_json,
    parse_time,
)

STATES = {
    "ALARM": AlertStatus.FIRING,
    "OK": AlertStatus.RESOLVED,
    "INSUFFICIENT_DATA": AlertStatus.INSUFFICIENT_DATA,
}


def parse_alarm(message: str, *, topic_arn: str = "") -> AlertIn:
    try:
        alarm: Any = load_json(message)
    except JsonError as exc:
        raise PayloadError("Message", f"is not a CloudWatch alarm ({exc})") from exc
    if not isinstance(alarm, dict):
        raise PayloadError("Message", "is not a CloudWatch alarm object")
    flawed = first_flaw(alarm)
    if flawed:
        raise PayloadError(f"Message.{flawed[0]}", flawed[1])
    name = alarm.get("AlarmName")
    if not isinstance(name, str) or not name:
        raise PayloadError("Message.AlarmName", "missing")
    state = alarm.get("NewStateValue")
    if not isinstance(state, str) or state not in STATES:
        raise PayloadError(
            "Message.NewStateValue", f"{state!r} is not ALARM, OK or INSUFFICIENT_DATA"
        )
    trigger = alarm.get("Trigger") if isinstance(alarm.get("Trigger"), dict) else {}
    labels = {"alertname": name}
    for key, label in (("Namespace", "namespace"), ("MetricName", "metric")):
        if isinstance(trigger.get(key), str):
            labels[label] = trigger[key]
    dimensions = trigger.get("Dimensions") or []
    if not isinstance(dimensions, list):
        raise PayloadError(
            "Message.Trigger.Dimensions", 'must be an array of {"name": …, "value": …} objects'
        )
    for dim in dimensions:
        if isinstance(dim, dict) and isinstance(dim.get("name"), str):
            labels[dim["name"]] = str(dim.get("value", ""))
    arn = alarm.get("AlarmArn") if isinstance(alarm.get("AlarmArn"), str) else ""
    account = str(alarm.get("AWSAccountId") or "")
    region = str(alarm.get("Region") or "")
    if account:
        labels["aws_account"] = account
    fingerprint = arn or f"{account}:{region}:{name}"
    description = "\n".join(
        str(part) for part in (alarm.get("AlarmDescription"), alarm.get("NewStateReason")) if part
    )
    try:
        changed = parse_time(alarm.get("StateChangeTime"))
    except ValueError:
        changed = None
    links = ()
    if arn.startswith("arn:aws:cloudwatch:"):
        region_code = arn.split(":")[3]
        links = (
            Link(
                f"https://{region_code}.console.aws.amazon.com/cloudwatch/home?region={region_code}"
                f"#alarmsV2:alarm/{name}",
                "CloudWatch alarm",
            ),
        )
    return AlertIn(
        source="cloudwatch",
        fingerprint=clip(fingerprint, 128),
        status=STATES[state],
        title=clip(name, 500),
        labels=labels,
        annotations={"topic_arn": topic_arn} if topic_arn else {},
        description=description,
        service=labels.get("service", ""),
        severity="",
        starts_at=changed,
        links=links,
    )
