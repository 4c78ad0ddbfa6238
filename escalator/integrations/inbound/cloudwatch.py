"""A CloudWatch alarm state change, as carried in an SNS Notification's ``Message``."""

from __future__ import annotations

import json
from typing import Any

from escalator.domain.alerts import AlertIn, AlertStatus, Link
from escalator.integrations.inbound.common import PayloadError, clip, parse_time

STATES = {
    "ALARM": AlertStatus.FIRING,
    "OK": AlertStatus.RESOLVED,
    "INSUFFICIENT_DATA": AlertStatus.INSUFFICIENT_DATA,
}


def parse_alarm(message: str, *, topic_arn: str = "") -> AlertIn:
    try:
        alarm: Any = json.loads(message)
    except ValueError as exc:
        raise PayloadError("Message", "is not a CloudWatch alarm (not JSON)") from exc
    if not isinstance(alarm, dict):
        raise PayloadError("Message", "is not a CloudWatch alarm object")
    name = alarm.get("AlarmName")
    if not isinstance(name, str) or not name:
        raise PayloadError("Message.AlarmName", "missing")
    state = alarm.get("NewStateValue")
    if state not in STATES:
        raise PayloadError(
            "Message.NewStateValue", f"{state!r} is not ALARM, OK or INSUFFICIENT_DATA"
        )
    trigger = alarm.get("Trigger") if isinstance(alarm.get("Trigger"), dict) else {}
    labels = {"alertname": name}
    for key, label in (("Namespace", "namespace"), ("MetricName", "metric")):
        if isinstance(trigger.get(key), str):
            labels[label] = trigger[key]
    for dim in trigger.get("Dimensions") or []:
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
