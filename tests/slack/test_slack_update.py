"""Second tier updates a customer from Slack: "Post update" opens COMMUNICATE's modal (the
draft and the next update filled in), a missing promise comes back under its input, and the
update is in the ledger, as Noah, via Slack."""

from __future__ import annotations

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.communicate import contacts
from escalator.process.core import announce, queries
from tests.fakes import FakeClock
from tests.fakes.slack import FakeSlack


def test_a_customer_update_from_slack(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    now = int(clock.now().timestamp())
    slack.command(app, user="U0NOAH", text="report Acme: prices wrong", timestamp=now)
    with slacked.unit_of_work("noah") as ctx:
        contacts.add(ctx, "INC-1", name="Ann at Acme", phone="+1 555 0100")
    slacked.worker().run_once()
    [root] = slack.roots("#support")

    slack.click(
        app, user="U0NOAH", action_id=announce.UPDATE, value="INC-1", message=root, timestamp=now
    )
    [view] = slack.views
    assert view["callback_id"] == "esc.update_modal" and view["private_metadata"] == "INC-1"
    draft = view["blocks"][0]["element"]["initial_value"]
    assert "INC-1" in draft or "prices wrong" in draft

    missing = slack.submit(
        app, user="U0NOAH", view=view, values={"text": "We are on it.", "next": ""}, timestamp=now
    )
    assert missing.json()["response_action"] == "errors"
    assert "next one" in missing.json()["errors"]["next"]
    bad = slack.submit(
        app,
        user="U0NOAH",
        view=view,
        values={"text": "We are on it.", "next": "soonish"},
        timestamp=now,
    )
    assert list(bad.json()["errors"]) == ["next"]

    sent = slack.submit(
        app, user="U0NOAH", view=view, values={"text": "We are on it.", "next": "1h"}, timestamp=now
    )
    assert (sent.status_code, sent.content) == (200, b""), "an empty answer closes the modal"
    with slacked.db.read() as session:
        item = queries.get_incident(session, "INC-1")
        [update] = [e for e in queries.timeline(session, item) if e.kind == "customer_update"]
    assert (update.actor, update.data["via"]) == ("noah", "slack")
    assert "We are on it." in update.note
