"""Slack down, then rate limiting, then healthy: every message arrives, in order per incident,
none twice; intake keeps answering throughout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from escalator.app import Services
from escalator.process.core import incidents
from escalator.store.models import OutboxMessage
from tests.fakes import FakeClock
from tests.fakes.http import Reply
from tests.fakes.slack import FakeSlack

UNAVAILABLE = Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
LIMITED = Reply.json(429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": "30"})


def slack_rows(svc: Services) -> list[OutboxMessage]:
    with svc.db.read() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.channel == "slack")
                .order_by(OutboxMessage.id)
            )
        )


def test_outage_then_rate_limit_then_recovery_delivers_everything_once_in_order(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    slack: FakeSlack,
    clock: FakeClock,
) -> None:
    secret = integration("generic")
    slack.fail(UNAVAILABLE, 8)  # eight failed tries: #alerts waits, its messages in order
    for n in range(3):  # intake is not slowed by the outage
        response = wired_client.post(
            f"/api/v1/intake/generic?token={secret}",
            json={"title": f"Pricing worker {n} down", "service": f"pricing-{n}"},
        )
        assert response.status_code == 202
    worker = wired.worker()
    worker.run_once()
    for key in ("INC-1", "INC-2", "INC-3"):
        with wired.unit_of_work("santhosh") as ctx:
            incidents.acknowledge(ctx, key, note=f"looking at {key}")
        with wired.unit_of_work("santhosh") as ctx:
            incidents.escalate(ctx, key, to_role="support_manager", note=f"{key} needs a manager")
    worker.run_once()
    assert slack.messages == [], "nothing gets through a 503"

    slack.fail(LIMITED, 2)  # after the outage, rate limiting…
    slack.lose_answers = 2  # …then two posts land but their answers are lost: no reposting
    for _ in range(200):
        clock.advance(timedelta(seconds=15))
        worker.run_once()
        if all(r.state == "sent" for r in slack_rows(wired)):
            break
    assert not slack.faults and slack.lose_answers == 0, "every fault was met"

    rows = slack_rows(wired)
    assert {r.state for r in rows} == {"sent"}
    assert max(r.attempts for r in rows) > 1
    roots = slack.roots("#alerts")
    assert len(roots) == 3, "one root message per incident, never two"
    for n in range(3):
        key = f"INC-{n + 1}"
        [root] = [m for m in roots if m.text.startswith(f"{key} ")]
        replies = [m.text for m in slack.thread(root)]
        expected = [
            r.payload["text"] for r in rows if r.payload["op"] == "reply" and f"{key} " in r.subject
        ]
        assert replies == expected, "thread replies arrive once each, in the order they happened"
        assert replies[0] == f"santhosh: acknowledge — looking at {key}"
        assert root.text == f"{key} open: Pricing worker {n} down"
    posts = [m for m in slack.messages]
    assert len(posts) == len({(m.channel, m.thread_ts, m.text) for m in posts})


def test_retry_after_is_waited_out(
    wired: Services,
    wired_client: TestClient,
    integration: Callable[[str], str],
    slack: FakeSlack,
    clock: FakeClock,
) -> None:
    secret = integration("generic")
    slack.fail(LIMITED, 1)
    wired_client.post(f"/api/v1/intake/generic?token={secret}", json={"title": "Quotes slow"})
    worker = wired.worker()
    worker.run_once()
    tries = len(slack.server.requests)
    clock.advance(timedelta(seconds=29))
    worker.run_once()
    assert len(slack.server.requests) == tries, "no retry before Retry-After has passed"
    clock.advance(timedelta(seconds=1))
    worker.run_once()
    assert len(slack.roots()) == 1
