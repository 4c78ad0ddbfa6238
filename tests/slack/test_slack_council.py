"""REMEDIATE from Slack: the on-call engineer hands the incident to the Engineering Council
from its root message (a modal for the note), and a council member decides a rollback_flag
in the council's modal, its fields filled in from the flag turned on before the incident
opened. A non-member is refused (an ephemeral message with the reason, nothing stored); a
bad field comes back under its input in the modal. Every request is signed by the fake
Slack, and the timeline says "via Slack"."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.integrations.inbound.changes import ChangeIn
from escalator.process.core import announce
from escalator.process.core.context import SYSTEM
from escalator.process.remediate import changes, council
from escalator.slack import views
from escalator.store.models import CouncilDecision
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock
from tests.fakes.slack import FakeSlack
from tests.slack.test_slack_seed_path import actions_of, events, incident


def decisions_stored(svc: Services) -> list[CouncilDecision]:
    with svc.db.read() as session:
        return list(session.query(CouncilDecision).order_by(CouncilDecision.id))


def test_to_council_and_a_rollback_flag_decision_from_slack(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    worker = slacked.worker()
    now = lambda: int(clock.now().timestamp())  # noqa: E731
    with slacked.unit_of_work(SYSTEM) as ctx:  # Unleash said: the flag went on 30m before
        changes.store(
            ctx,
            ChangeIn(
                "new-checkout enabled in production",
                clock.now() - timedelta(minutes=30),
                None,
                "unleash",
                details={
                    "enabled": True,
                    "flag": "new-checkout",
                    "project": "payments",
                    "environment": "production",
                },
            ),
        )
    key = escalated(slacked)  # on call (michael) holds it
    worker.run_once()
    [root] = slack.roots("#alerts")
    assert announce.TO_COUNCIL in actions_of(root)
    assert announce.COUNCIL_DECIDE not in actions_of(root)

    # first tier may not hand it to the council: told why, no modal
    slack.click(
        app,
        user="U0SANTHOSH",
        action_id=announce.TO_COUNCIL,
        value=key,
        message=root,
        timestamp=now(),
    )
    assert slack.views == []
    [refused] = slack.ephemerals_to("U0SANTHOSH")
    assert "engineering_council" in refused

    # the on-call engineer hands it over with a note
    opened = slack.click(
        app,
        user="U0MICHAEL",
        action_id=announce.TO_COUNCIL,
        value=key,
        message=root,
        timestamp=now(),
    )
    assert (opened.status_code, opened.content) == (200, b"")
    [note_view] = slack.views
    assert note_view["callback_id"] == views.COUNCIL
    sent = slack.submit(
        app,
        user="U0MICHAEL",
        view=note_view,
        values={"note": "the new checkout flag went on just before"},
        timestamp=now(),
    )
    assert (sent.status_code, sent.content) == (200, b""), "the modal closes"
    assert (incident(slacked, key).owner_role, incident(slacked, key).stage) == (
        "engineering_council",
        "remediate",
    )
    worker.run_once()
    assert announce.COUNCIL_DECIDE in actions_of(root), "the root message shows the decision"
    assert announce.TO_COUNCIL not in actions_of(root)

    # the Support Manager is no council member: no decision modal opens, told why
    slack.click(
        app,
        user="U0DINESH",
        action_id=announce.COUNCIL_DECIDE,
        selected=f"{key} rollback_flag",
        message=root,
        timestamp=now(),
    )
    assert len(slack.views) == 1
    assert "engineering_council" in slack.ephemerals_to("U0DINESH")[-1]

    # Jonathan opens the rollback_flag modal: filled in from the change, which is listed
    slack.click(
        app,
        user="U0JONATHAN",
        action_id=announce.COUNCIL_DECIDE,
        selected=f"{key} rollback_flag",
        message=root,
        timestamp=now(),
    )
    decide = slack.views[-1]
    assert decide["callback_id"] == views.COUNCIL_DECISION
    inputs = {b["block_id"]: b["element"] for b in decide["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["flag", "project", "environment", "reasons"]
    filled = {name: e.get("initial_value") for name, e in inputs.items()}
    assert filled == {
        "flag": "new-checkout",
        "project": "payments",
        "environment": "production",
        "reasons": None,
    }
    assert "30m before: new-checkout enabled in production" in str(decide["blocks"])
    values = {**{k: v for k, v in filled.items() if v}, "reasons": "errors began with the flag"}

    # a non-member submitting it is refused: the modal closes, the reason told, nothing stored
    gone = slack.submit(app, user="U0SANTHOSH", view=decide, values=values, timestamp=now())
    assert (gone.status_code, gone.content) == (200, b"")
    assert "engineering_council" in slack.ephemerals_to("U0SANTHOSH")[-1]
    assert decisions_stored(slacked) == []

    # a member decides
    done = slack.submit(app, user="U0JONATHAN", view=decide, values=values, timestamp=now())
    assert (done.status_code, done.content) == (200, b""), done.text
    [decision] = decisions_stored(slacked)
    assert (decision.kind, decision.decided_by, decision.reasons) == (
        "rollback_flag",
        "jonathan",
        "errors began with the flag",
    )
    assert decision.params == {
        "flag": "new-checkout",
        "project": "payments",
        "environment": "production",
    }
    assert decision.state == "awaiting_approval", "the process file asks 2 approvals"
    worker.run_once()
    assert announce.COUNCIL_DECIDE not in actions_of(root), "decided: out of the queue"
    assert slack.ephemerals_to("U0JONATHAN") == []
    assert slack.ephemerals_to("U0MICHAEL") == []

    # the timeline: the hand-over and the decision, each by its person via Slack
    steps = events(slacked, key)
    assert ("michael", "escalate", "engineering_council", "slack") in steps, steps
    assert ("jonathan", "council_decision", None, "slack") in steps, steps
    assert any(
        "roll back flag new-checkout" in m.text and "(via Slack)" in m.text
        for m in slack.thread(root)
    )


def test_a_bad_field_comes_back_in_the_council_modal(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    key = escalated(slacked)
    with slacked.unit_of_work("michael") as ctx:
        council.bring(ctx, key, note="")
    now = int(clock.now().timestamp())
    slack.click(
        app,
        user="U0RAJA",
        action_id=announce.COUNCIL_DECIDE,
        selected=f"{key} allocate_short_term",
        timestamp=now,
    )
    [view] = slack.views
    values = {"engineers": "vijay, nobody", "reasons": "needs a day of work"}
    wrong = slack.submit(app, user="U0RAJA", view=view, values=values, timestamp=now)
    answer = wrong.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["engineers"]
    assert "not people: nobody" in answer["errors"]["engineers"]
    assert decisions_stored(slacked) == [], "nothing stored"
    values["engineers"] = "vijay"
    assert slack.submit(app, user="U0RAJA", view=view, values=values, timestamp=now).content == b""
    [decision] = decisions_stored(slacked)
    assert (decision.kind, decision.params) == ("allocate_short_term", {"engineers": ["vijay"]})
