"""Intake posts take the short path (``api/intake_path.py``): straight to the intake handler,
not through FastAPI's routing, with the same answers — security headers, problem+json for
errors, and a 500 problem (not a dropped connection) if the handler breaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalator.api import intake
from escalator.api.server import create_app
from escalator.app import Services

PROBLEM = "application/problem+json"
ALERT = {"alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each intake request: whether FastAPI's router had matched it to a route."""
    seen: list[bool] = []
    handle = intake.receive

    async def watch(kind: str, request: Any) -> Any:
        seen.append("endpoint" in request.scope)
        return await handle(kind, request)

    monkeypatch.setattr(intake, "receive", watch)
    return seen


def test_an_intake_post_skips_the_router_and_answers_as_the_route_would(
    wired_client: TestClient, integration: Callable[[str], str], routed: list[bool]
) -> None:
    secret = integration("alertmanager")
    ok = wired_client.post(f"/api/v1/intake/alertmanager?token={secret}", json=ALERT)
    assert ok.status_code == 202
    assert ok.json() == {"accepted": 1, "rejected": [], "truncated": 0}
    assert ok.headers["x-content-type-options"] == "nosniff", "security headers as everywhere"
    refused = wired_client.post("/api/v1/intake/alertmanager?token=esi_wrong", json=ALERT)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "the integration secret is unknown or revoked"
    assert refused.headers["www-authenticate"] == "Bearer"
    unknown = wired_client.post(f"/api/v1/intake/nagios?token={secret}", json=ALERT)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    assert routed == [False, False, False], "none of them went through the router"
    # what is not an intake post still goes through the app
    assert wired_client.get("/api/v1/intake/alertmanager").status_code == 405
    assert wired_client.get("/healthz").status_code == 200


def test_a_broken_intake_handler_answers_a_500_problem(
    wired_client: TestClient, integration: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = integration("alertmanager")

    async def broken(kind: str, request: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(intake, "receive", broken)
    answer = wired_client.post(f"/api/v1/intake/alertmanager?token={secret}", json=ALERT)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == PROBLEM
    assert "a bug" not in answer.text, "no internals in the answer"


def test_behind_a_proxy_prefix_intake_still_takes_the_short_path(
    wired: Services, integration: Callable[[str], str], routed: list[bool]
) -> None:
    secret = integration("alertmanager")
    with TestClient(create_app(wired, run_worker=False), root_path="/escalator") as client:
        ok = client.post(f"/escalator/api/v1/intake/alertmanager?token={secret}", json=ALERT)
    assert ok.status_code == 202
    assert routed == [False]
