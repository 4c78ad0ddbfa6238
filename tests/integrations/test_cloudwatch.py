"""CloudWatch alarms over SNS: subscription confirmation, signed notifications (v1 and v2),
ALARM → OK, INSUFFICIENT_DATA, and forged or tampered messages refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.core import queries
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.sns import FakeSns

WIRE = Path(__file__).parents[1] / "wire"
SNS_HEADERS = {
    "Content-Type": "text/plain; charset=UTF-8",
    "x-amz-sns-message-type": "Notification",
}


def deliver(client: TestClient, secret: str, message: dict) -> object:
    return client.post(
        f"/api/v1/intake/cloudwatch?token={secret}",
        content=json.dumps(message),
        headers=SNS_HEADERS,
    )


def test_subscription_is_confirmed_through_the_outbox(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str], sns: FakeSns
) -> None:
    secret = integration("cloudwatch")
    response = deliver(wired_client, secret, sns.subscription())
    assert response.status_code == 202 and response.json()["subscription"] == "confirming"
    assert sns.confirmations == []
    wired.worker().run_once()
    assert len(sns.confirmations) == 1


@pytest.mark.parametrize("version", ["1", "2"])
def test_alarm_then_ok_opens_and_resolves(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    sns: FakeSns,
    pagerduty: FakePagerDuty,
    version: str,
) -> None:
    secret = integration("cloudwatch")
    assert deliver(wired_client, secret, sns.alarm("ALARM", version=version)).status_code == 202
    wired.worker().run_once()
    with wired.db.read() as s:
        [incident] = queries.list_incidents(s).items
        assert (incident.title, incident.channel, incident.status) == (
            "example1-cpu-high",
            "cloudwatch",
            "open",
        )
        assert incident.details["labels"]["InstanceId"] == "i-0123456789abcdef0"
        assert "Threshold Crossed" in incident.description
    assert (
        deliver(wired_client, secret, sns.alarm("INSUFFICIENT_DATA", version=version)).status_code
        == 202
    )
    wired.worker().run_once()
    assert deliver(wired_client, secret, sns.alarm("OK", version=version)).status_code == 202
    wired.worker().run_once()
    with wired.db.read() as s:
        incident = queries.get_incident(s, incident.key)
        kinds = [e.kind for e in queries.timeline(s, incident)]
    assert incident.status == "resolved"
    assert "alert_insufficient_data" in kinds and "alert_resolved" in kinds
    assert [a for a, _ in pagerduty.actions()] == ["trigger", "resolve"]


def test_forged_and_tampered_messages_are_refused(
    wired: Services, wired_client: TestClient, integration: Callable[[str], str], sns: FakeSns
) -> None:
    secret = integration("cloudwatch")
    tampered = sns.alarm("ALARM")
    tampered["Message"] = tampered["Message"].replace("example1-cpu-high", "evil")
    response = deliver(wired_client, secret, tampered)
    assert response.status_code == 403 and "does not match" in response.json()["detail"]

    foreign = sns.alarm("ALARM")
    foreign["SigningCertURL"] = "https://evil.example.com/cert.pem"
    response = deliver(wired_client, secret, foreign)
    assert (
        response.status_code == 403
        and "not a trusted SNS certificate URL" in response.json()["detail"]
    )

    version = sns.alarm("ALARM")
    version["SignatureVersion"] = "3"
    assert deliver(wired_client, secret, version).status_code == 403

    missing = {k: v for k, v in sns.alarm("ALARM").items() if k != "Signature"}
    response = deliver(wired_client, secret, missing)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "Signature"
    with wired.db.read() as s:
        assert queries.list_incidents(s).total == 0


def test_a_signed_message_that_is_not_an_alarm_gets_422(
    wired_client: TestClient, integration: Callable[[str], str], sns: FakeSns
) -> None:
    hello = json.loads((WIRE / "sns_notification.json").read_text())  # Message: "Hello world!"
    response = deliver(wired_client, integration("cloudwatch"), sns.sign(hello))
    assert response.status_code == 422 and "not a CloudWatch alarm" in response.json()["detail"]
