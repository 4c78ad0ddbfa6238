"""rollback_release through the process file's signed webhook: the deployment system gets
one HMAC-signed POST (a retry carries the same Idempotency-Key), its answer is recorded."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.remediate import council, decisions
from escalator.store.models import Change, CouncilDecision
from tests.escalation.conftest import write_process
from tests.fakes import FakeClock
from tests.fakes.http import FakeServer, Reply, Request

SECRET = "rollback-secret"


def test_a_release_rollback_is_a_signed_post_answered_once(
    make_services: Callable[..., Services], database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    answers = [Reply(503, b"deploy busy"), Reply.json(202, {"rollback": "started"})]
    deploy = FakeServer(lambda request: answers.pop(0) if answers else Reply(500))

    def change(spec: dict) -> None:
        spec["rollback"] = {"webhook": {"url": f"{deploy.url}/hooks/rollback"}}
        spec["council"]["approvals"] = {"rollback_release": 0}

    try:
        svc = make_services(
            database_url,
            process_file=write_process(tmp_path / "process.yaml", change),
            rollback_webhook_secret=SECRET,
        )
        with svc.unit_of_work("dinesh") as ctx:
            key = opening.open_incident(ctx, title="5xx", source="customer", channel="phone").key
        with svc.unit_of_work("dinesh") as ctx:
            council.bring(ctx, key)
        with svc.unit_of_work("michael") as ctx:
            decision_id = decisions.decide(
                ctx,
                key,
                "rollback_release",
                reasons="5xx since 2026.11.2",
                params={"release": "2026.11.2", "service": "checkout"},
            ).id
        worker = svc.worker()
        worker.run_once()  # 503: tried again later
        clock.advance(timedelta(minutes=5))
        worker.run_once()
        posts: list[Request] = [r for r in deploy.requests if r.path == "/hooks/rollback"]
        assert len(posts) == 2 and len({p.headers["idempotency-key"] for p in posts}) == 1
        for post in posts:
            stamp = post.headers["x-escalator-timestamp"]
            mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + post.body, hashlib.sha256)
            assert post.headers["x-escalator-signature"] == "sha256=" + mac.hexdigest()
        assert posts[0].json()["release"] == "2026.11.2" and posts[0].json()["incident"] == key
        with svc.db.read() as session:
            row = session.get(CouncilDecision, decision_id)
            assert row is not None and row.state == "done" and row.result["status"] == 202
            assert session.query(Change).filter_by(service="checkout").count() == 1
    finally:
        deploy.close()
