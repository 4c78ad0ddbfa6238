"""Claim triage and Bring in SME from the root message: done as the person, via Slack, or
refused (and told) when their role does not allow it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.core import announce, incidents, queries
from escalator.process.escalate import pages
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock
from tests.fakes.slack import FakeSlack


def test_claim_triage_and_bring_in_the_sme(
    slacked: Services, app: TestClient, slack: FakeSlack, clock: FakeClock
) -> None:
    now = int(clock.now().timestamp())
    slack.command(app, user="U0SANTHOSH", text="report checkout slow", timestamp=now)
    with slacked.db.read() as session:
        assert queries.get_incident(session, "INC-1").owner_person == "santhosh"

    slack.click(app, user="U0RAJA", action_id=announce.CLAIM, value="INC-1", timestamp=now)
    assert slack.ephemerals_to("U0RAJA") == ["INC-1: raja does not hold role first_tier"]
    slack.click(app, user="U0DINESH", action_id=announce.CLAIM, value="INC-1", timestamp=now)
    with slacked.db.read() as session:
        item = queries.get_incident(session, "INC-1")
        claimed = queries.timeline(session, item)[-1]
    assert item.owner_person == "dinesh"
    assert (claimed.kind, claimed.actor, claimed.data["via"]) == ("claimed", "dinesh", "slack")

    key = escalated(slacked)  # paging Michael, on call
    with slacked.unit_of_work("michael") as ctx:
        incidents.acknowledge(ctx, key)
    slack.click(app, user="U0SANTHOSH", action_id=announce.BRING_IN, value=key, timestamp=now)
    assert "santhosh may not escalate to sme" in slack.ephemerals_to("U0SANTHOSH")[-1]
    slack.click(app, user="U0MICHAEL", action_id=announce.BRING_IN, value=key, timestamp=now)
    with slacked.db.read() as session:
        item = queries.get_incident(session, key)
        paged = [(v.page.target, v.page.state) for v in pages.incident_pages(session, item)]
        brought = [e for e in queries.timeline(session, item) if e.kind == "bring_in"]
    assert [(e.actor, e.data["via"]) for e in brought] == [("michael", "slack")]
    assert paged[-1][0].startswith("sme") and paged[-1][1] == "paging", paged
