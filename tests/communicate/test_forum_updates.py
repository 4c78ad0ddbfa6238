"""Updates on the support forum, against a fake Discourse built from ../shared/wire/
discourse.md: a customer's topic gets our reply through the API, once, however the network
behaves; Discourse's refusals are shown with their reason; the customer's next post is an
unread reply, and our own post coming back through the webhook is not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import integrations
from tests.fakes import FakeClock
from tests.fakes.discourse import USERNAME, FakeDiscourse
from tests.fakes.http import Reply

WIRE = Path(__file__).parent.parent / "wire"
Auth = Callable[[str], dict[str, str]]
INSTANCE = "https://forum.monsoon.example"
TOPIC = {
    "topic": {
        "id": 15,
        "title": "Bulk price import fails",
        "slug": "bulk-price-import-fails",
        "created_by": {"id": 9, "username": "acme_ops"},
    }
}


def post(number: int, author: str, raw: str) -> dict[str, object]:
    return {
        "post": {
            "id": 500 + number,
            "topic_id": 15,
            "post_number": number,
            "username": author,
            "topic_title": "Bulk price import fails",
            "topic_slug": "bulk-price-import-fails",
            "raw": raw,
        }
    }


@pytest.fixture
def forum(talking: Services) -> Iterator[tuple[TestClient, str]]:
    with talking.unit_of_work("dinesh") as ctx:
        secret = integrations.create(ctx, kind="forum", name="discourse")[1]
    with TestClient(create_app(talking, run_worker=False)) as client:
        yield client, secret


def webhook(forum: tuple[TestClient, str], event: str, body: dict[str, object]) -> dict[str, str]:
    client, secret = forum
    headers = {"X-Discourse-Event": event, "X-Discourse-Instance": INSTANCE}
    response = client.post(f"/api/v1/intake/forum?token={secret}", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


def update(forum: tuple[TestClient, str], auth: Auth, text: str) -> None:
    client, _ = forum
    sent = client.post(
        "/api/v1/incidents/INC-1/updates",
        json={"text": text, "next": "2h"},
        headers=auth("noah"),
    )
    assert sent.status_code == 201, sent.text


def ledger(forum: tuple[TestClient, str], auth: Auth) -> list[dict[str, object]]:
    client, _ = forum
    [contact] = client.get("/api/v1/incidents/INC-1/customers", headers=auth("noah")).json()[
        "contacts"
    ]
    return list(contact["ledger"])


def test_an_update_is_posted_in_the_customers_topic_and_their_reply_comes_back_unread(
    talking: Services, forum: tuple[TestClient, str], auth: Auth, discourse: FakeDiscourse
) -> None:
    assert webhook(forum, "topic_created", TOPIC) == {"incident": "INC-1"}
    webhook(forum, "post_created", post(1, "acme_ops", "The CSV import stops at row 1000."))
    update(forum, auth, "We can reproduce the import stopping at row 1000 and are on it.")
    talking.worker().run_once()

    [ours] = discourse.posts[15]
    assert ours["username"] == USERNAME
    assert ours["raw"].startswith("We can reproduce the import stopping at row 1000")
    assert "Our next update will reach you by" in ours["raw"]
    [request] = [r for r in discourse.requests if r.method == "POST"]
    assert request.headers["api-username"] == USERNAME and request.json()["topic_id"] == 15
    assert [e["state"] for e in ledger(forum, auth)] == ["received", "sent"]

    # Discourse tells us of our own post too: it is not the customer's
    echoed = post(ours["post_number"], USERNAME, ours["raw"])
    assert webhook(forum, "post_created", echoed) == {"ignored": "our own post"}
    webhook(forum, "post_created", post(3, "acme_ops", "Thanks! Row 1000 has a comma in it."))
    entries = ledger(forum, auth)
    assert [(e["direction"], e["state"]) for e in entries] == [
        ("in", "received"),
        ("out", "sent"),
        ("in", "unread"),
    ]
    assert entries[-1]["body"] == "Thanks! Row 1000 has a comma in it."


def test_a_lost_answer_does_not_post_twice_and_a_rate_limit_is_waited_out(
    talking: Services,
    forum: tuple[TestClient, str],
    auth: Auth,
    discourse: FakeDiscourse,
    clock: FakeClock,
) -> None:
    webhook(forum, "topic_created", TOPIC)
    worker = talking.worker()
    limited = json.loads((WIRE / "discourse_ratelimit_429.json").read_text())
    discourse.faults.append(Reply.json(429, limited, **{"Retry-After": "60"}))
    update(forum, auth, "First update: we are looking at the importer.")
    worker.run_once()
    assert discourse.posts[15] == [] and ledger(forum, auth)[-1]["state"] == "pending"
    clock.advance(timedelta(seconds=30))
    worker.run_once()
    assert discourse.posts[15] == [], "Retry-After is honoured"
    discourse.lose_answers = 1  # the next post is made, but its answer is lost
    clock.advance(timedelta(seconds=31))
    worker.run_once()
    assert len(discourse.posts[15]) == 1 and ledger(forum, auth)[-1]["state"] == "pending"
    clock.advance(timedelta(minutes=10))
    worker.run_once()
    assert len(discourse.posts[15]) == 1, "the retry found its post instead of posting again"
    assert ledger(forum, auth)[-1]["state"] == "sent"


def test_a_post_discourse_refuses_shows_as_failed_with_its_reason(
    talking: Services, forum: tuple[TestClient, str], auth: Auth, discourse: FakeDiscourse
) -> None:
    webhook(forum, "topic_created", TOPIC)
    refusal = json.loads((WIRE / "discourse_post_error_422.json").read_text())
    discourse.faults.append(Reply.json(422, refusal))
    update(forum, auth, "An update Discourse will not take.")
    talking.worker().run_once()
    entry = ledger(forum, auth)[-1]
    assert entry["state"] == "failed"
    assert entry["error"] == (
        "discourse refused the post (422): Title seems unclear, most of the words contain the "
        "same letters over and over?"
    )
