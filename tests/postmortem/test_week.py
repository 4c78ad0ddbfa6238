"""A week of the seed's POST MORTEM with a fake clock: five incidents of different paths, the
review opening on Friday with all five, post-mortems with action items of every kind, a
playbook entry published and matched by a later incident, an overdue action item chased after
its incident closed, and the weekly report's figures against the ones worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.domain.severity import Answers
from escalator.domain.weekly import Week
from escalator.process.alert import opening
from escalator.process.communicate import closing
from escalator.process.core import incidents
from escalator.process.core.errors import InvalidInput
from escalator.process.core.records import load
from escalator.process.escalate import escalation
from escalator.process.postmortem import actions, drafts, formats, measures, retrospective
from escalator.process.postmortem import report as weekly_report
from escalator.process.postmortem import review as reviews
from escalator.process.triage import assessment
from escalator.store.models import OutboxMessage, PlaybookRun, TimelineEvent, Timer
from tests.fakes import FakeClock
from tests.postmortem.conftest import alarm

MINOR = Answers(users_affected=5, account_tier=None, user_impact="degraded", business_impact="none")
MAJOR = Answers(users_affected=40, account_tier=None, user_impact="blocked", business_impact="none")
TRIVIAL = Answers(
    users_affected=1, account_tier=None, user_impact="nice_to_have", business_impact="none"
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


class Week45:
    """Drives the clock and the worker: every step happens at its minute, and whatever fell
    due by then (triage deadlines, resolution clocks, the review, reminders) fires first."""

    def __init__(self, svc: Services, clock: FakeClock, client: TestClient, intake: str) -> None:
        self.svc, self.clock, self.client, self.intake = svc, clock, client, intake
        self.worker = svc.worker("w1")
        self.worker.arm_periodic()  # the hand-offs and the weekly review

    def to(self, when: datetime) -> None:
        self.clock.set(when)
        self.worker.run_once()

    def post(self, when: datetime, name: str, service: str, status: str = "firing") -> None:
        self.to(when)
        answer = self.client.post(self.intake, json=alarm(name, service, status))
        assert answer.status_code == 202, answer.text
        self.worker.run_once()

    def report(self, when: datetime, title: str) -> str:
        self.to(when)
        with self.svc.unit_of_work("santhosh") as ctx:
            return opening.report(ctx, title=title, channel="phone", caller="Bob").key

    def act(self, when: datetime, person: str, step) -> None:  # type: ignore[no-untyped-def]
        self.to(when)
        with self.svc.unit_of_work(person) as ctx:
            step(ctx)
        self.worker.run_once()


def events_of(svc: Services, key: str) -> list[TimelineEvent]:
    with svc.db.read() as s:
        rows = s.query(TimelineEvent).filter_by(incident_id=int(key.split("-")[1]))
        return list(rows.order_by(TimelineEvent.id))


def console_to(svc: Services, person: str) -> list[str]:
    with svc.db.read() as s:
        rows = s.query(OutboxMessage).filter_by(channel="console", destination=person)
        return [r.subject for r in rows.order_by(OutboxMessage.id)]


@pytest.fixture
def week(pm: Services, clock: FakeClock, pm_client: TestClient, intake: str) -> Week45:
    """Week 45 of 2026 (Monday 2 November, 09:00 UTC): Michael is on call."""
    w = Week45(pm, clock, pm_client, intake)
    # INC-1 Monday: PriceSyncLag fires on pricing and clears by itself 20 minutes later;
    # nobody acts on it (noise)
    w.post(at(2, 9), "PriceSyncLag", "pricing")
    w.post(at(2, 9, 20), "PriceSyncLag", "pricing", "resolved")
    # INC-2 Tuesday: a customer phones about $0 prices (nothing alarmed: a detection gap)
    key = w.report(at(3, 10), "Prices show $0 for ACME")
    assert key == "INC-2"
    w.act(at(3, 10, 5), "santhosh", lambda c: incidents.acknowledge(c, "INC-2"))
    w.act(at(3, 10, 20), "santhosh", lambda c: assessment.evaluate(c, "INC-2", MINOR))
    w.act(at(3, 12), "santhosh", lambda c: incidents.resolve(c, "INC-2", note="cache flushed"))
    # INC-3 Tuesday: CheckoutErrors, SEV2, to the Support Manager, on call paged
    w.post(at(3, 14), "CheckoutErrors", "checkout")
    w.act(at(3, 14, 3), "santhosh", lambda c: incidents.acknowledge(c, "INC-3"))
    w.act(at(3, 14, 10), "santhosh", lambda c: assessment.evaluate(c, "INC-3", MAJOR))
    w.act(at(3, 14, 15), "dinesh", lambda c: escalation.decide(c, "INC-3", "no_playbook"))
    w.act(at(3, 14, 15), "dinesh", lambda c: escalation.decide(c, "INC-3", "on_call"))
    w.act(at(3, 14, 25), "michael", lambda c: incidents.acknowledge(c, "INC-3"))
    w.act(at(3, 17), "michael", lambda c: incidents.resolve(c, "INC-3", note="rolled back"))
    w.post(at(3, 17, 5), "CheckoutErrors", "checkout", "resolved")
    # INC-4 Wednesday: a customer's bulk import is stuck; low severity, to the Engineering
    # Manager with a day to resolve it, resolved after 30 hours (the clock is breached)
    assert w.report(at(4, 10), "Bulk import stuck for Globex") == "INC-4"
    w.act(at(4, 10, 10), "santhosh", lambda c: incidents.acknowledge(c, "INC-4"))
    w.act(at(4, 10, 15), "santhosh", lambda c: assessment.evaluate(c, "INC-4", MINOR))
    w.act(
        at(4, 10, 15),
        "santhosh",
        lambda c: incidents.escalate(c, "INC-4", to_role="support_manager", note="stuck"),
    )
    w.act(at(4, 10, 25), "dinesh", lambda c: escalation.decide(c, "INC-4", "engineering_manager"))
    # INC-5 Thursday: QuoteApiErrors, triaged late (the 30-minute clock is breached)
    w.post(at(5, 9), "QuoteApiErrors", "quotes")
    w.to(at(5, 9, 30))
    w.act(at(5, 9, 35), "santhosh", lambda c: incidents.acknowledge(c, "INC-5"))
    w.act(at(5, 9, 40), "santhosh", lambda c: assessment.evaluate(c, "INC-5", TRIVIAL))
    w.act(at(5, 10), "santhosh", lambda c: incidents.resolve(c, "INC-5"))
    w.to(at(5, 10, 25))  # INC-4's one-day clock runs out
    w.act(at(5, 16), "raja", lambda c: incidents.resolve(c, "INC-4"))
    return w


def test_a_week_of_post_mortems(week: Week45, pm: Services, playbooks_dir: Path) -> None:
    svc = pm
    # Friday 6 November 15:00: the review opens with all five and tells everyone
    week.to(at(6, 14, 59))
    with svc.looking("dinesh") as ctx:
        assert reviews.latest(ctx) is None
    week.to(at(6, 15))
    with svc.looking("dinesh") as ctx:
        opened = reviews.get(ctx)
        agenda = reviews.agenda_of(ctx, opened)
        assert opened.due_at == at(6, 15) and opened.agenda["week"] == "2026-W45"
        # in the order they resolved
        assert [a.incident.key for a in agenda.incidents] == [
            "INC-1",
            "INC-2",
            "INC-3",
            "INC-5",
            "INC-4",
        ]
        assert {a.state for a in agenda.incidents} == {"draft"}
        # the next review is armed, once
        pending = ctx.session.query(Timer).filter_by(kind=reviews.REVIEW, state="pending").all()
        assert [t.due_at for t in pending] == [at(13, 15)]
    for person in ("santhosh", "dinesh", "noah", "raja", "jonathan", "vijay", "michael"):
        told = [s for s in console_to(svc, person) if s.startswith("Weekly review 2026-W45")]
        assert told == ["Weekly review 2026-W45: 5 incidents, 0 action items open"], person

    # closing before the post-mortem is reviewed is refused, with the reason
    with (
        pytest.raises(InvalidInput, match="INC-1 cannot be closed: its post-mortem has not"),
        svc.unit_of_work("dinesh") as ctx,
    ):
        incidents.close(ctx, "INC-1")
    # an unknown root cause, an item without owner or due date: refused, nothing stored
    with (
        pytest.raises(InvalidInput, match="unknown root cause 'gremlins'"),
        svc.unit_of_work("dinesh") as ctx,
    ):
        retrospective.update(ctx, "INC-1", root_cause="gremlins", went_well="fast")
    with (
        pytest.raises(InvalidInput, match=r"owner: every action item needs an owner.*due"),
        svc.unit_of_work("dinesh") as ctx,
    ):
        actions.add(ctx, "INC-1", kind="other", title="x", owner=None, due_at=None)

    # the review: each post-mortem, and action items of every kind
    week.to(at(6, 15, 30))
    due = at(13, 17)
    plans = {
        "INC-1": ("load", "alarm", "alarm_threshold", "vijay", {"alarm": "PriceSyncLag", "direction": "up", "from": "10m", "to": "20m"}),
        "INC-2": ("config_change", "customer", "new_metric", "vijay", {"metric": "zero_price_count", "service": "pricing"}),
        "INC-3": ("new_release", "alarm", "playbook_entry", "michael", {}),
        "INC-4": ("capacity", "customer", "docs_update", "raja", {"url": "https://wiki.example.com/bulk"}),
        "INC-5": ("dependency_failure", "alarm", "other", "dinesh", {}),
    }  # fmt: skip
    service = {"INC-2": "pricing", "INC-4": "bulk-import"}
    with svc.unit_of_work("dinesh") as ctx:
        for key, (cause, detected, kind, owner, details) in plans.items():
            retrospective.update(
                ctx,
                key,
                root_cause=cause,
                detected_by=detected,
                factors=["no alarm on the cache"] if key == "INC-2" else [],
                service=service.get(key),
                went_well="found quickly",
                went_badly="slow to tell the customer",
            )
            when = at(10, 17) if key == "INC-4" else due
            actions.add(
                ctx, key, kind=kind, title=f"{kind} after {key}", owner=owner, due_at=when,
                details=details,
            )  # fmt: skip
            retrospective.mark_reviewed(ctx, key)

    # the playbook entry: edit the draft; a broken one is refused by the loader, unwritten
    with svc.unit_of_work("michael") as ctx:
        item = actions.items(ctx, state="open", owner="michael")[0]
        draft, _ = drafts.of(ctx, item.id)
        assert draft.match == {
            "alerts": ["CheckoutErrors"],
            "services": ["checkout"],
            "sources": [],
            "keywords": [],
        }
        drafts.update(ctx, item.id, entry_id="Checkout Errors!", steps=[])
    with (
        pytest.raises(InvalidInput, match="the playbook loader refuses it"),
        svc.unit_of_work("michael") as ctx,
    ):
        drafts.publish(ctx, item.id)
    assert not list(playbooks_dir.glob("checkout*"))
    with svc.unit_of_work("michael") as ctx:
        drafts.update(
            ctx,
            item.id,
            entry_id="checkout-errors",
            title="Checkout errors after a release",
            steps=["Check the last deploy", "Roll it back"],
        )
        drafts.publish(ctx, item.id)
    written = (playbooks_dir / "checkout-errors.md").read_text()
    assert "- [ ] Roll it back" in written and "CheckoutErrors" in written
    assert "checkout-errors" in {e.id for e in svc.process.playbooks}

    with svc.unit_of_work("dinesh") as ctx:
        won = actions.items(ctx, owner="dinesh")[0]
        actions.set_state(ctx, won.id, "wont_do", reason="the vendor fixed it")
        for key in plans:
            if closing.not_told(ctx.session, load(ctx, key)):
                closing.waive(ctx, key, reason="Bob heard it on the weekly customer call")
            incidents.close(ctx, key)
    closed_at = at(6, 15, 30)

    # next week: a new CheckoutErrors alarm matches the published entry
    week.post(at(9, 10), "CheckoutErrors", "checkout")
    with svc.db.read() as s:
        matched = s.query(PlaybookRun).filter_by(entry_id="checkout-errors").all()
        assert [r.incident_id for r in matched] == [6]
    week.to(at(9, 17))
    week.act(at(10, 9), "vijay", lambda c: [actions.set_state(c, i.id, "done") for i in actions.items(c, owner="vijay")])  # fmt: skip

    # the docs update of INC-4 is chased after INC-4 closed: before, at and after its due date
    week.to(at(10, 17))
    week.to(at(11, 17))
    reminders = [
        (e.at, e.note) for e in events_of(svc, "INC-4") if e.kind == "action_item_reminded"
    ]
    assert [when for when, _ in reminders] == [at(9, 17), at(10, 17), at(11, 17)]
    assert all(when > closed_at for when, _ in reminders)
    assert [note.split(", ")[-1] for _, note in reminders] == [
        "due in 1d",
        "due now",
        "overdue by 1d",
    ]
    chased = [s for s in console_to(svc, "raja") if "docs_update after INC-4" in s]
    assert chased[-1] == "[INC-4] Action item #4 overdue by 1d: docs_update after INC-4"
    assert len(chased) == 4  # given, then three reminders

    # the report of week 45, against the figures worked out by hand
    with svc.looking("dinesh") as ctx:
        figures = formats.as_dict(weekly_report.weekly(ctx, Week(2026, 45)))
    times = figures["times"]
    assert figures["incidents"] == {"this_week": 5, "last_week": 0}
    # acknowledged after 5m, 3m, 10m and 35m (INC-1 never was)
    assert times["acknowledge"]["this_week"] == {
        "count": 4,
        "median_seconds": 450.0,
        "p90_seconds": 2100.0,
        "within_clock": None,
        "measured_against_clock": None,
        "clock_share": None,
    }
    # triaged after 20m, 10m, 15m and 40m: 3 of 4 within 30m (INC-1 resolved before its
    # clock ran out, with nothing to triage)
    assert times["triage"]["clock"] == "30m"
    assert (
        times["triage"]["this_week"]["median_seconds"],
        times["triage"]["this_week"]["within_clock"],
        times["triage"]["this_week"]["measured_against_clock"],
        times["triage"]["this_week"]["clock_share"],
    ) == (1050.0, 3, 4, 0.75)
    # the Support Manager decided 5m (INC-3) and 10m (INC-4) after getting it
    assert times["decision"]["this_week"]["median_seconds"] == 450.0
    # resolved after 20m, 2h, 3h, 30h and 1h
    assert times["resolve"]["this_week"]["median_seconds"] == 7200.0
    assert times["resolve"]["this_week"]["p90_seconds"] == 30 * 3600.0
    assert times["resolve_high"]["this_week"]["within_clock"] == 1
    assert times["resolve_high"]["this_week"]["measured_against_clock"] == 1
    assert times["resolve_low"]["this_week"]["within_clock"] == 0
    assert times["resolve_low"]["this_week"]["measured_against_clock"] == 1

    def rows(name: str) -> dict[str, int]:
        return {r["label"]: r["this_week"] for r in figures["counts"][name]["rows"]}

    assert rows("source") == {"alarm": 3, "customer": 2}
    assert rows("severity") == {"SEV3": 2, "SEV2": 1, "SEV4": 1, "not triaged": 1}
    assert rows("service") == {
        "pricing": 2,
        "checkout": 1,
        "bulk-import": 1,
        "quotes": 1,
    }
    assert rows("root_cause") == {
        "Load on the system": 1,
        "A configuration change": 1,
        "A new release": 1,
        "Capacity": 1,
        "A dependency or provider failure": 1,
    }
    # INC-3: Michael on call; an hour after his acknowledgement, Jonathan the SME
    assert rows("pages") == {"michael": 1, "jonathan": 1}
    # nobody in this week's fixtures was sent a customer update
    assert figures["customer_update_punctuality"]["this_week"] == {
        "due": 0,
        "on_time": 0,
        "late_seconds_median": None,
    }
    # REMEDIATE: no council decision was made in these weeks
    assert figures["council_decisions"] == {"title": "Council decisions by kind", "rows": []}
    findings = {f["kind"]: [] for f in figures["findings"]}
    for f in figures["findings"]:
        findings[f["kind"]].append(f["incidents"])
    assert findings == {"noise": [["INC-1"]], "gap": [["INC-2"], ["INC-4"]]}
    assert figures["findings"][0]["action_item"]["details"] == {
        "alarm": "PriceSyncLag",
        "direction": "up",
    }

    # week 46: the published entry matched once
    with svc.looking("dinesh") as ctx:
        later = formats.as_dict(weekly_report.weekly(ctx, Week(2026, 46)))
    assert later["playbook_entries"] == [
        {
            "id": "checkout-errors",
            "title": "Checkout errors after a release",
            "published_at": "2026-11-06T15:30:00+00:00",
            "written_after": "INC-3",
            "matched_this_week": 1,
            "matched_since_published": 1,
        }
    ]
    assert later["action_items"] == {"added": 0, "done": 2, "open": 1, "overdue": 1}

    # /metrics' counts, kept as it happened
    with svc.db.read() as s:
        histograms, breaches = measures.read(s)
    counts = {h.name: h.buckets[-1][1] for h in histograms}
    assert counts == {measures.ACKNOWLEDGE: 4, measures.TRIAGE: 4, measures.RESOLVE: 5}
    # INC-5's and INC-6's triage clocks, INC-4's one day
    assert breaches == {"triage": 2, "low_severity_resolution": 1, "high_severity_resolution": 0}
