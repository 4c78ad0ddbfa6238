"""Identity and trust: a forged signature, a stale timestamp, an unmapped Slack user and a
person without the role are each refused, and nothing changes; the signature is Slack's v0
(the wire file's test vector). Two clicks racing leave one consistent result."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import announce, queries
from escalator.process.core.context import SYSTEM
from escalator.slack import signing
from escalator.slack.face import SlackFace
from tests.fakes import FakeClock
from tests.fakes.slack import FakeSlack, signed_headers


def test_the_wire_files_signature_vector() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect"
        b"&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
        b"%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "x-slack-request-timestamp": "1531420618",
        "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    assert signing.verified(secret, body, headers, lambda: 1531420618 + 299)
    assert not signing.verified(secret, body, headers, lambda: 1531420618 + 301)
    assert not signing.verified(secret, body + b"x", headers, lambda: 1531420618)
    assert not signing.verified("another-secret", body, headers, lambda: 1531420618)
    for stamp in ("soon", "¹⁵³¹⁴²⁰⁶¹⁸", ""):
        bad = {**headers, "x-slack-request-timestamp": stamp}
        assert not signing.verified(secret, body, bad, lambda: 1531420618)
    assert not signing.verified(secret, b"\xff", headers, lambda: 1531420618)


def opened(svc: Services, worker_round: bool = True) -> str:
    with svc.unit_of_work(SYSTEM) as ctx:
        key = opening.open_incident(
            ctx, title="checkout down", source="alarm", channel="manual"
        ).key
    if worker_round:
        svc.worker().run_once()
    return key


def snapshot(svc: Services, key: str) -> tuple[object, ...]:
    with svc.db.read() as session:
        item = queries.get_incident(session, key)
        return (
            item.status,
            item.owner_person,
            item.severity,
            len(queries.timeline(session, item)),
            len(queries.messages(session, limit=500)),
        )


def test_forged_stale_unmapped_and_wrong_role_change_nothing(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    key = opened(slacked)
    [root] = slack.roots("#alerts")
    before = snapshot(slacked, key)
    now = int(clock.now().timestamp())

    def click(user: str, **kwargs: object) -> object:
        args = {"action_id": announce.ACKNOWLEDGE, "value": key, "message": root, "timestamp": now}
        return slack.click(app, user=user, **{**args, **kwargs})  # type: ignore[arg-type]

    forged = click("U0SANTHOSH", secret="not-the-signing-secret")
    assert forged.status_code == 401 and "signature" in forged.json()["detail"]
    stale = click("U0SANTHOSH", timestamp=now - 301)
    assert stale.status_code == 401
    body = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    unsigned = app.post("/api/v1/slack/actions", content=body)
    assert unsigned.status_code == 401
    replayed = app.post(
        "/api/v1/slack/commands",
        content=b"user_id=U0SANTHOSH&text=oncall",
        headers=signed_headers(b"user_id=U0SANTHOSH&text=oncall", now - 3600),
    )
    assert replayed.status_code == 401
    assert snapshot(slacked, key) == before
    assert slack.ephemerals == []

    # the same signed request again, within the window: refused as a replay
    body = b"user_id=U0NOAH&text=report%20twice"
    once = app.post("/api/v1/slack/commands", content=body, headers=signed_headers(body, now))
    again = app.post("/api/v1/slack/commands", content=body, headers=signed_headers(body, now))
    assert once.json()["text"].startswith("Opened INC-2")
    assert again.status_code == 401 and "replay" in again.json()["detail"]
    with slacked.db.read() as session:
        assert queries.list_incidents(session).total == 2, "the replay opened nothing"
    before = snapshot(slacked, key)

    # a Slack user the process file does not name: told how to be added, nothing done
    stranger = click("U0STRANGER")
    assert stranger.status_code == 200
    [told] = slack.ephemerals_to("U0STRANGER")
    assert "slack: U0STRANGER" in told and "people:" in told
    command = slack.command(app, user="U0STRANGER", text="report the site is down", timestamp=now)
    assert "slack: U0STRANGER" in command.json()["text"]
    assert snapshot(slacked, key) == before

    # the wrong role: first tier may not make the Support Manager's decision
    click("U0SANTHOSH", action_id=announce.DECIDE, value="", selected=f"{key} on_call")
    [refused] = slack.ephemerals_to("U0SANTHOSH")
    assert "santhosh may not decide how an incident escalates" in refused
    assert "support_manager" in refused
    # nor send customers an update: the modal is not even opened
    click("U0SANTHOSH", action_id=announce.UPDATE)
    assert slack.views == [] and "update customers" in slack.ephemerals_to("U0SANTHOSH")[-1]
    assert snapshot(slacked, key) == before


def test_double_click_and_acknowledge_racing_resolve_leave_one_result(
    slacked: Services, slack: FakeSlack
) -> None:
    """Grafana OnCall #3161: an acknowledgement racing a resolve un-resolved incidents. Here
    each click is a transaction on the incident's row; whatever the order, it ends resolved,
    acknowledged at most once and resolved once, and the loser is told why."""
    face = SlackFace(slacked)
    keys = [opened(slacked, worker_round=False) for _ in range(3)]

    def click(user: str, action: str, key: str) -> Callable[[], None]:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": "C0ALERTS"},
            "actions": [{"action_id": action, "value": key}],
        }
        later = face.interactive(payload).later
        assert later is not None
        return later

    for key in keys:
        work = [
            click("U0SANTHOSH", announce.ACKNOWLEDGE, key),
            click("U0SANTHOSH", announce.ACKNOWLEDGE, key),  # a double click
            click("U0NOAH", announce.RESOLVE, key),
        ]
        threads = [threading.Thread(target=w) for w in work]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        with slacked.db.read() as session:
            item = queries.get_incident(session, key)
            kinds = [e.kind for e in queries.timeline(session, item) if e.field == "status"]
        assert item.status == "resolved", kinds
        assert kinds.count("resolve") == 1 and kinds.count("acknowledge") <= 1
        assert kinds[-1] == "resolve"
    # every refused click was told, in the channel, to its person
    refusals = slack.ephemerals_to("U0SANTHOSH") + slack.ephemerals_to("U0NOAH")
    assert all("INC-" in text for text in refusals)
    assert len(refusals) >= len(keys)  # at least the double click's second half each time


def test_the_slash_command_explains_itself(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    for words in ("", "dance", "status", "report", "INC-1"):
        answer = slack.command(
            app, user="U0SANTHOSH", text=words, timestamp=int(clock.now().timestamp())
        ).json()
        assert answer["response_type"] == "ephemeral"
        assert "report <title>" in answer["text"], words


def test_the_slash_command(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    now = lambda: int(clock.now().timestamp())  # noqa: E731
    reported = slack.command(
        app, user="U0SANTHOSH", text="report Acme cannot log in", timestamp=now()
    )
    assert reported.status_code == 200
    assert reported.json()["text"] == "Opened INC-1: Acme cannot log in"
    with slacked.db.read() as session:
        item = queries.get_incident(session, "INC-1")
        first = queries.timeline(session, item)[0]
        assert (item.source, item.channel, first.actor, first.data.get("via")) == (
            "customer",
            "phone",
            "santhosh",
            "slack",
        )

    oncall = slack.command(app, user="U0NOAH", text="oncall", timestamp=now()).json()["text"]
    assert "on call engineer: michael" in oncall and "support manager: dinesh" in oncall

    key = opened(slacked)
    with slacked.unit_of_work("dinesh") as ctx:
        from escalator.process.escalate import escalation
        from escalator.process.triage import playbooks

        playbooks.conclude(ctx, key, "not_applicable")
        escalation.decide(ctx, key, "on_call")
    mine = slack.command(app, user="U0MICHAEL", text="mine", timestamp=now()).json()["text"]
    assert f"page for {key}" in mine and "acknowledge within 15m" in mine
    assert f"*{key}* checkout down — open" in mine

    clock.advance(timedelta(minutes=20))
    status = slack.command(app, user="U0NOAH", text=f"status {key}", timestamp=now()).json()["text"]
    assert f"*{key}* checkout down" in status and "escalation.ack_timeout: overdue" in status
    missing = slack.command(app, user="U0NOAH", text="status INC-999", timestamp=now()).json()
    assert missing["text"] == "no incident INC-999"
    nothing = slack.command(app, user="U0VIJAY", text="mine", timestamp=now()).json()["text"]
    assert "Nothing" in nothing


def test_without_a_signing_secret_every_request_is_refused(client: TestClient) -> None:
    body = b"user_id=U0NOAH&text=oncall"
    refused = client.post("/api/v1/slack/commands", content=body, headers=signed_headers(body, 0))
    assert refused.status_code == 401
    assert "ESCALATOR_SLACK_SIGNING_SECRET" in refused.json()["detail"]


def test_the_decide_menu_offers_escalates_decisions() -> None:
    from escalator.process.escalate import escalation

    assert list(announce.DECISIONS) == list(escalation.DECISIONS)
