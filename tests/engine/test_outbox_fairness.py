"""No queue starves another: a noisy incident's chatter is coalesced and holds back only its
own queue; pages leave first, and after an outage in the order they were made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalator.app import Services
from escalator.process.alert import opening as alert_stage
from escalator.process.core import announce
from escalator.process.core.records import enqueue, record
from escalator.store.models import Incident, OutboxMessage
from tests.fakes import FakeClock
from tests.fakes.http import Reply
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack


def storm(count: int) -> dict:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "escalator",
        "groupKey": '{}:{alertname="PriceSyncLag"}',
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "PriceSyncLag", "service": "pricing", "instance": f"i{n}"},
                "annotations": {"summary": f"price sync lagging on i{n}"},
                "startsAt": "2026-11-02T09:00:00Z",
            }
            for n in range(count)
        ],
    }


def test_a_storm_of_a_thousand_alerts_is_told_in_a_few_messages_and_pages_go_first(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    slack: FakeSlack,
    pagerduty: FakePagerDuty,
    clock: FakeClock,
) -> None:
    secret = integration("alertmanager")
    headers = {"Authorization": f"Bearer {secret}"}
    url = "/api/v1/intake/alertmanager"
    assert wired_client.post(url, json=storm(1000), headers=headers).status_code == 202
    unrelated = {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "service": "disk"}}],
    }
    assert wired_client.post(url, json=unrelated, headers=headers).status_code == 202
    worker = wired.worker()
    for _ in range(10):  # rate limits on: one Slack message a second per channel
        worker.run_once()
        clock.advance(timedelta(seconds=1))
    with wired.db.read() as s:
        disk = s.scalars(select(Incident).where(Incident.title == "DiskFull")).one()
        noisy = s.scalars(select(Incident).where(Incident.title != "DiskFull")).one()
        pending = s.scalar(select(func.count()).where(OutboxMessage.state == "pending"))
    assert ("trigger", f"escalator-{disk.key}") in pagerduty.actions()
    [root] = [m for m in slack.roots("#alerts") if m.text.startswith(noisy.key)]
    replies = [m.text for m in slack.thread(root)]
    assert len(replies) <= 5, replies
    assert replies[0].startswith(":rotating_light: +")
    told = sum(int(r.split("+")[1].split(" ")[0]) for r in replies if "+" in r)
    assert told == 999, "every folded alert is counted, none twice"
    assert len(root.edits) <= 5, "root message updates are coalesced too"
    assert pending == 0


def test_a_deep_backlog_in_one_queue_does_not_hide_the_head_of_another(
    svc: Services, clock: FakeClock
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        noisy = alert_stage.report(ctx, title="noisy")
        quiet = alert_stage.report(ctx, title="quiet")
        event = record(ctx, noisy, "note")
        for n in range(3000):
            enqueue(
                ctx,
                incident=noisy,
                channel="console",
                destination="noah",
                subject=f"chatter {n}",
                idempotency_key=f"chatter:{event.ref}:{n}",
            )
        enqueue(
            ctx,
            incident=quiet,
            channel="console",
            destination="noah",
            subject="the quiet incident's news",
            idempotency_key="quiet",
        )
    sent = svc.worker().dispatch_outbox()
    with svc.db.read() as s:
        news = s.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "quiet")
        ).one()
    assert news.state == "sent", "claimed in the first batch despite 3,000 older rows"
    assert sent <= 6, "the noisy queue gave one message (its head), not its backlog"


def test_after_an_outage_pages_arrive_in_the_order_they_were_made(
    wired: Services, pagerduty: FakePagerDuty, slack: FakeSlack, clock: FakeClock
) -> None:
    with wired.unit_of_work("santhosh") as ctx:
        keys = [
            alert_stage.open_incident(ctx, title=f"alarm {n}", source="alarm", channel="manual").key
            for n in range(40)
        ]
    pagerduty.faults = [Reply(503, b"busy")] * 6
    worker = wired.worker()
    for _ in range(60):
        worker.run_once()
        clock.advance(timedelta(seconds=20))
    triggers = [key for action, key in pagerduty.actions() if action == "trigger"]
    assert triggers == [f"escalator-{k}" for k in keys], "oldest first, none overtaken"
    assert not pagerduty.faults


def test_pages_are_claimed_before_chatter(svc: Services) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        incidents = [alert_stage.report(ctx, title=f"c{n}") for n in range(5)]
        for n, incident in enumerate(incidents):
            enqueue(
                ctx,
                incident=incident,
                channel="console",
                destination=f"p{n}",
                subject="page",
                idempotency_key=f"page:{n}",
                rank=0,
            )
    worker = svc.worker()
    worker.batch = 5
    worker.outbox.batch = 5
    worker.dispatch_outbox()
    with svc.db.read() as s:
        sent = s.scalars(select(OutboxMessage.subject).where(OutboxMessage.state == "sent")).all()
    assert sent == ["page"] * 5


def test_alert_digests_count_while_they_wait_and_escape_titles(svc: Services) -> None:
    assert announce._digest({"changes": {"<!channel> x fired": 2, "b fired": 1}})["text"] == (
        ":rotating_light: +3 alert changes: &lt;!channel&gt; x fired x2, b fired"
    )
