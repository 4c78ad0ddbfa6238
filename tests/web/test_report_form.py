"""Issue 14, item 11: a report taken by the triager on duty stays theirs unless they pass it on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import queries


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_reporter_on_duty_keeps_it_or_passes_it_on(
    svc: Services, token_for: Callable[[str], str]
) -> None:
    with TestClient(create_app(svc, run_worker=False)) as client:
        client.post("/login", data={"token": token_for("santhosh")})
        kept = client.post("/report", data={"title": "Phone: refunds fail", "caller": "Ann"})
        passed = client.post(
            "/report", data={"title": "Phone: login loops", "caller": "Bo", "pass_on": "yes"}
        )
        assert kept.status_code == passed.status_code == 200  # followed to the incident page
    with svc.db.read() as session:
        owners = {i.key: i.owner_person for i in queries.list_incidents(session).items}
        notes = [e.note for e in queries.timeline(session, queries.get_incident(session, "INC-2"))]
    assert owners == {"INC-1": "santhosh", "INC-2": "dinesh"}
    assert "passed on by santhosh: dinesh" in notes
