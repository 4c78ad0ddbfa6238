"""The seed's path driven from Slack alone: an alarm's root message → Acknowledge → the
triage modal (the 5 Ws and the five questions) → SEV1 → the Support Manager decides (no
playbook, then On call) → the on-call engineer acknowledges from the page DM → Resolve.
Every step is a signed request from the fake Slack, and the timeline says "via Slack"."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import announce, queries, tokens
from escalator.process.core.context import SYSTEM
from tests.fakes import FakeClock
from tests.fakes.slack import FakeSlack, Message
from tests.web.test_console_sessions import sign_in


def actions_of(message: Message) -> list[str]:
    return [
        e["action_id"]
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def incident(svc: Services, key: str) -> Any:
    with svc.db.read() as session:
        return queries.get_incident(session, key)


def events(svc: Services, key: str) -> list[tuple[str, str, str | None, str | None]]:
    with svc.db.read() as session:
        found = queries.timeline(session, queries.get_incident(session, key))
        return [(e.actor, e.kind, e.after, e.data.get("via")) for e in found]


def test_the_seed_path_from_slack_alone(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    worker = slacked.worker()
    now = lambda: int(clock.now().timestamp())  # noqa: E731
    with slacked.unit_of_work(SYSTEM) as ctx:
        key = opening.open_incident(
            ctx, title="Price sync lag above 10 minutes", source="alarm", channel="alertmanager"
        ).key
    worker.run_once()
    [root] = slack.roots("#alerts")
    assert actions_of(root)[:3] == [announce.ACKNOWLEDGE, announce.CLAIM, announce.TRIAGE]

    # first tier acknowledges from the channel; the answer is at once and empty
    acked = slack.click(
        app,
        user="U0SANTHOSH",
        action_id=announce.ACKNOWLEDGE,
        value=key,
        message=root,
        timestamp=now(),
    )
    assert (acked.status_code, acked.content) == (200, b"")
    assert incident(slacked, key).status == "acknowledged"
    worker.run_once()
    assert announce.ACKNOWLEDGE not in actions_of(root), "the root message is updated in place"
    assert any("(via Slack)" in m.text for m in slack.thread(root))

    # the triage modal: the 5 Ws and the five questions; a bad count comes back in the modal
    slack.click(
        app, user="U0SANTHOSH", action_id=announce.TRIAGE, value=key, message=root, timestamp=now()
    )
    view = slack.views[-1]
    assert view["private_metadata"] == key
    blocks = {b.get("block_id") for b in view["blocks"]}
    assert {"who", "what", "where", "when", "how", "users_affected", "user_impact"} <= blocks
    answers = {
        "what": "prices stale for every customer",
        "where": "pricing, eu-west-1",
        "users_affected": "lots",
        "user_impact": "blocked",
        "business_impact": "losing_money",
    }
    wrong = slack.submit(app, user="U0SANTHOSH", view=view, values=answers, timestamp=now())
    assert wrong.json() == {
        "response_action": "errors",
        "errors": {"users_affected": "A whole number of users, such as 20."},
    }
    assert incident(slacked, key).severity is None, "nothing was stored"
    answers["users_affected"] = "250"
    verdict = slack.submit(app, user="U0SANTHOSH", view=view, values=answers, timestamp=now())
    shown = verdict.json()
    assert shown["response_action"] == "update"
    text = shown["view"]["blocks"][0]["text"]["text"]
    assert f"{key} is SEV1" in text and "250 users affected" in text and "support manager" in text
    assert (incident(slacked, key).owner_role, incident(slacked, key).owner_person) == (
        "support_manager",
        "dinesh",
    )
    worker.run_once()

    # the Support Manager decides from the root message: no playbook applies, then On call
    for decision in ("no_playbook", "on_call"):
        slack.click(
            app,
            user="U0DINESH",
            action_id=announce.DECIDE,
            selected=f"{key} {decision}",
            message=root,
            timestamp=now(),
        )
    assert (incident(slacked, key).owner_role, incident(slacked, key).owner_person) == (
        "on_call_engineer",
        "michael",
    )
    worker.run_once()

    # the page DM carries Acknowledge; Michael clicks it there
    [dm] = [m for m in slack.messages if m.channel == "U0MICHAEL" and "you are paged" in m.text]
    assert actions_of(dm) == [announce.ACKNOWLEDGE]
    slack.click(
        app,
        user="U0MICHAEL",
        action_id=announce.ACKNOWLEDGE,
        value=key,
        message=dm,
        timestamp=now(),
    )
    assert incident(slacked, key).status == "acknowledged"
    assert actions_of(dm) == [] and "acknowledged by you" in dm.text, "the DM was answered"
    worker.run_once()
    assert announce.BRING_IN in actions_of(root)
    assert "resolve by 2026-11-02 13:00 UTC" in root.text + str(root.blocks), "the clock shows"

    # and resolves it from the root message
    slack.click(
        app, user="U0MICHAEL", action_id=announce.RESOLVE, value=key, message=root, timestamp=now()
    )
    assert incident(slacked, key).status == "resolved"
    worker.run_once()
    assert announce.RESOLVE not in actions_of(root) and ":white_check_mark:" in root.text + str(
        root.blocks
    )
    assert slack.ephemerals == [], "nothing was refused"

    # the timeline: each step by its person, via Slack
    steps = [(actor, kind, via) for actor, kind, _, via in events(slacked, key)]
    by_slack = [(actor, kind) for actor, kind, via in steps if via == "slack"]
    for step in [
        ("santhosh", "acknowledge"),
        ("santhosh", "report_edited"),
        ("santhosh", "severity_assessed"),
        ("dinesh", "decision"),
        ("michael", "acknowledge"),
        ("michael", "resolve"),
    ]:
        assert step in by_slack, (step, steps)
    assert ("dinesh", "decision") in by_slack and by_slack.count(("dinesh", "decision")) == 2
    assert all(via is None for actor, _, via in steps if actor == SYSTEM)

    # the console's timeline says so too
    with slacked.unit_of_work("test") as ctx:
        token = tokens.create(ctx, person="raja").token
    sign_in(app, token)
    page = app.get(f"/incidents/{key}").text
    assert page.count('<span class="via">via Slack</span>') >= len(by_slack)
