"""Outside text is data: an alert title, an email subject or a forum post cannot ping a
channel, make a link of its own, or break an email header — whatever source it came from."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.alert import opening as alert_stage
from escalator.process.core import integrations
from tests.e2e.live import free_port
from tests.fakes.pagerduty import ROUTING_KEY, FakePagerDuty
from tests.fakes.slack import TOKEN, FakeSlack
from tests.fakes.sns import FakeSns
from tests.integrations.test_email_out import Inbox

EVIL = "<!channel> urgent <https://evil.example|reset password> & more"


def everything_slack_shows(slack: FakeSlack) -> str:
    shown = []
    for message in slack.messages:
        shown += [message.text, json.dumps(message.blocks or []), *message.edits]
    return "\n".join(shown)


def assert_inert(slack: FakeSlack) -> None:
    shown = everything_slack_shows(slack)
    assert slack.messages, "something was posted"
    assert "<!channel>" not in shown and "<https://evil.example" not in shown
    assert "&lt;!channel&gt; urgent &lt;https://evil.example|reset password&gt; &amp; more" in (
        shown
    ), "the text is shown, escaped"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def everywhere(
    make_services: Callable[..., Services],
    database_url: str,
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    sns: FakeSns,
    inbox: tuple[Inbox, int],
) -> Services:
    return make_services(
        database_url,
        slack_bot_token=TOKEN,
        slack_api_url=slack.base_url,
        pagerduty_events_url=pagerduty.url,
        pagerduty_routing_key=ROUTING_KEY,
        sns_cert_url_pattern=sns.pattern,
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        inbound_smtp_port=free_port(),
    )


@pytest.fixture
def client(everywhere: Services) -> Iterator[TestClient]:
    with TestClient(create_app(everywhere, run_worker=False)) as test_client:
        yield test_client


def secret(svc: Services, kind: str) -> str:
    with svc.unit_of_work("dinesh") as ctx:
        return integrations.create(ctx, kind=kind, name=f"{kind}-source")[1]


def post(
    client: TestClient, svc: Services, kind: str, body: object, token: str | None = None
) -> None:
    url = f"/api/v1/intake/{kind}?token={token or secret(svc, kind)}"
    response = client.post(
        url, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text


def test_an_alertmanager_summary(
    everywhere: Services, client: TestClient, slack: FakeSlack
) -> None:
    body = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "X", "service": "pricing"},
                "annotations": {"summary": EVIL, "description": EVIL},
            },
            {
                "status": "firing",
                "labels": {"alertname": "X", "service": "pricing", "instance": "2"},
                "annotations": {"summary": EVIL},
            },
        ],
    }
    post(client, everywhere, "alertmanager", body)
    everywhere.worker().run_once()
    assert_inert(slack)


def test_a_grafana_title(everywhere: Services, client: TestClient, slack: FakeSlack) -> None:
    body = {
        "receiver": "escalator",
        "status": "firing",
        "title": EVIL,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": EVIL, "grafana_folder": "Pricing"},
                "annotations": {"summary": EVIL},
                "fingerprint": "f1",
            }
        ],
    }
    post(client, everywhere, "grafana", body)
    everywhere.worker().run_once()
    assert_inert(slack)


def test_a_generic_title_and_link_text(
    everywhere: Services, client: TestClient, slack: FakeSlack
) -> None:
    body = {
        "title": EVIL,
        "description": EVIL,
        "links": [{"href": "https://grafana.example/d/1", "text": EVIL}],
    }
    post(client, everywhere, "generic", body)
    everywhere.worker().run_once()
    assert_inert(slack)
    assert "<https://grafana.example/d/1|" in everything_slack_shows(slack), "real links work"


def test_a_cloudwatch_alarm_name(
    everywhere: Services, client: TestClient, slack: FakeSlack, sns: FakeSns
) -> None:
    message = sns.alarm("ALARM", name="cpu-high")
    alarm = json.loads(message["Message"])
    alarm["AlarmDescription"] = EVIL
    alarm["AlarmName"] = EVIL
    message = sns.sign({**message, "Message": json.dumps(alarm)})
    url = f"/api/v1/intake/cloudwatch?token={secret(everywhere, 'cloudwatch')}"
    response = client.post(
        url, content=json.dumps(message), headers={"Content-Type": "text/plain; charset=UTF-8"}
    )
    assert response.status_code == 202, response.text
    everywhere.worker().run_once()
    assert_inert(slack)


def test_a_forum_post(everywhere: Services, client: TestClient, slack: FakeSlack) -> None:
    token = secret(everywhere, "forum")
    post(
        client,
        everywhere,
        "forum",
        {
            "thread_id": "t1",
            "title": EVIL,
            "body": EVIL,
            "author": EVIL,
            "url": "https://f.example/t/1",
        },
        token,
    )
    reply = {"thread_id": "t1", "title": "Re", "body": EVIL, "author": "x"}
    post(client, everywhere, "forum", reply, token)
    everywhere.worker().run_once()
    assert_inert(slack)


def test_a_customer_email_subject_and_reply(
    everywhere: Services, client: TestClient, slack: FakeSlack, inbox: tuple[Inbox, int]
) -> None:
    def send(subject: str, body: str, msgid: str, reply_to: str | None = None) -> None:
        mail = EmailMessage()
        mail["From"] = "Mallory <mallory@acme.com>"
        mail["To"] = "support@monsoon.example"
        mail["Subject"] = subject
        mail["Message-ID"] = msgid
        if reply_to:
            mail["In-Reply-To"] = reply_to
        mail.set_content(body)
        settings = everywhere.settings
        with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port) as smtp:
            smtp.send_message(mail)

    send(EVIL, EVIL, "<m1@acme.com>")
    send("Re: " + EVIL, EVIL, "<m2@acme.com>", reply_to="<m1@acme.com>")
    everywhere.worker().run_once()
    assert_inert(slack)
    box, _ = inbox
    assert box.mail, "first tier was emailed"
    for _, _, raw in box.mail:
        mail = message_from_bytes(raw, policy=policy.default)
        assert EVIL in str(mail["Subject"]), "plain text mail shows the text as it is"


def test_a_title_with_line_breaks_cannot_add_an_email_header(
    everywhere: Services, inbox: tuple[Inbox, int]
) -> None:
    with everywhere.unit_of_work("santhosh") as ctx:
        alert_stage.report(ctx, title="Prices wrong\r\nBcc: everyone@example.com\r\n\r\nhi")
    everywhere.worker().run_once()
    box, _ = inbox
    assert len(box.mail) == 2
    for _, recipients, raw in box.mail:
        mail = message_from_bytes(raw, policy=policy.default)
        assert mail["Bcc"] is None and len(recipients) == 1
        assert "Prices wrong Bcc: everyone@example.com hi" in str(mail["Subject"])
