"""Socket Mode: `escalator serve`, given the app token, starts slack_sdk's SocketModeClient;
it asks the fake Slack for a WebSocket URL and connects to a local server speaking the
envelope/ack protocol; the same face answers: a click is acked at once and acknowledges the incident as the person, via
Slack; a slash command's reply and a modal's errors come back in the ack's payload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import announce, queries
from escalator.process.core.context import SYSTEM
from escalator.slack import views
from tests.escalation.conftest import write_process
from tests.fakes.slack import APP_TOKEN, FakeSlack
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack_socket import FakeSocketMode


@pytest.fixture
def socket_mode(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode()
    slack.socket_url = server.url
    yield server
    server.close()


def test_socket_mode_serves_the_same_face(
    make_services: Any, tmp_path: Path, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    svc: Services = make_services(
        f"sqlite:///{tmp_path}/escalator.db",
        process_file=write_process(tmp_path / "process.yaml"),
        slack_bot_token=SLACK_TOKEN,
        slack_api_url=slack.base_url,
        slack_app_token=APP_TOKEN,
    )
    with svc.unit_of_work(SYSTEM) as ctx:
        key = opening.open_incident(
            ctx, title="checkout down", source="alarm", channel="manual"
        ).key
    with TestClient(create_app(svc, run_worker=False)):  # serve connects, given the app token
        assert socket_mode.connected.wait(20)
        user = {"id": "U0SANTHOSH", "username": "santhosh", "team_id": "T0TEST"}
        click = socket_mode.send(
            "interactive",
            {
                "type": "block_actions",
                "user": user,
                "channel": {"id": "C0ALERTS"},
                "trigger_id": "1.trigger",
                "actions": [{"action_id": announce.ACKNOWLEDGE, "value": key, "type": "button"}],
            },
        )
        assert socket_mode.ack(click) == {"envelope_id": click}
        command = socket_mode.send(
            "slash_commands",
            {"command": "/escalator", "text": f"status {key}", "user_id": "U0SANTHOSH"},
            accepts_response=True,
        )
        reply = socket_mode.ack(command)["payload"]
        assert reply["response_type"] == "ephemeral" and key in reply["text"]

        modal = views.triage_modal(key, "checkout down", {}, [])
        state = {"users_affected": {"value": {"type": "plain_text_input", "value": "12"}}}
        submit = socket_mode.send(
            "interactive",
            {
                "type": "view_submission",
                "user": user,
                "view": {**modal, "state": {"values": state}},
            },
        )
        errors = socket_mode.ack(submit)["payload"]
        assert errors["response_action"] == "errors"
        assert set(errors["errors"]) == {"user_impact", "business_impact"}

        # the click's work runs right after its ack, on the client's thread pool: wait for it
        for _ in range(200):
            with svc.db.read() as session:
                item = queries.get_incident(session, key)
                if item.status == "acknowledged":
                    break
            socket_mode.connected.wait(0.05)
        with svc.db.read() as session:
            item = queries.get_incident(session, key)
            [ack] = [e for e in queries.timeline(session, item) if e.kind == "acknowledge"][:1]
        assert (item.status, ack.actor, ack.data.get("via")) == (
            "acknowledged",
            "santhosh",
            "slack",
        )
