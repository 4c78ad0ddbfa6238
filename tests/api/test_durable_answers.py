"""A 2xx means durable and visible: writes hold under concurrency on SQLite and PostgreSQL,
the answer leaves after the commit, and a revoked secret is refused from the next post on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from escalator.api.server import create_app
from escalator.app import Services
from escalator.store.models import Incident
from tests.e2e.live import serving

ALERT = {"alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}


@pytest.fixture
def live(svc: Services) -> Iterator[str]:
    with serving(create_app(svc)) as base:  # the worker runs too, as `escalator serve`
        yield base


def test_192_reports_64_at_a_time_all_succeed(
    live: str, svc: Services, auth: Callable[[str], dict[str, str]]
) -> None:
    headers = auth("santhosh")

    def one(n: int) -> int:
        with httpx.Client(timeout=120) as client:
            body = {"title": f"Prices wrong for customer {n}", "caller": f"c{n}"}
            return client.post(f"{live}/api/v1/incidents", json=body, headers=headers).status_code

    with ThreadPoolExecutor(64) as pool:
        codes = list(pool.map(one, range(192)))
    assert codes == [201] * 192
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 192


def test_the_answer_leaves_after_the_commit(
    live: str, svc: Services, auth: Callable[[str], dict[str, str]]
) -> None:
    """The commit waits a moment for the client's answer; if the answer could leave first,
    the client would have it (and read a 404) before the commit."""
    answered = threading.Event()
    seen: list[bool] = []

    def before_commit(session: Session) -> None:
        made = [o for o in session.identity_map.values() if isinstance(o, Incident)]
        if any(o.title.startswith("durable ") and o.status == "open" for o in made):
            seen.append(answered.wait(0.3))

    event.listen(Session, "before_commit", before_commit)
    try:
        headers = auth("santhosh")
        with httpx.Client(timeout=30) as client:
            for n in range(3):
                created = client.post(
                    f"{live}/api/v1/incidents", json={"title": f"durable {n}"}, headers=headers
                )
                answered.set()
                key = created.json()["key"]
                assert (
                    client.get(f"{live}/api/v1/incidents/{key}", headers=headers).status_code == 200
                )
                answered.clear()
    finally:
        event.remove(Session, "before_commit", before_commit)
    assert seen and not any(seen), "no answer reached the client before its commit"


def test_a_new_secret_works_at_once_and_a_revoked_one_stops_at_once(
    live: str, svc: Services, auth: Callable[[str], dict[str, str]]
) -> None:
    with httpx.Client(timeout=30) as client:
        made = client.post(
            f"{live}/api/v1/integrations",
            json={"kind": "generic", "name": "nagios"},
            headers=auth("dinesh"),
        ).json()
        url = f"{live}/api/v1/intake/generic?token={made['secret']}"
        body = {"title": "disk full"}
        assert client.post(url, json=body).status_code == 202, "not refused, nor cached refused"
        assert client.post(url, json=body).status_code == 202  # now cached as good
        revoked = client.delete(f"{live}/api/v1/integrations/{made['id']}", headers=auth("dinesh"))
        assert revoked.status_code == 200
        refused = [client.post(url, json=body).status_code for _ in range(20)]
    assert refused == [401] * 20, "refused from the next post on, though it was cached"
