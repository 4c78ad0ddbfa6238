"""The console's queues are questions to the database (a year holds 200,000 incidents): each
holds what the desk's rules say, its badge counts up to a cap and says so beyond it ("99+"),
and a queue's page lists 50 at a time, newest first, with older ones a click away."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.domain.permissions import ACTION_ROLES
from escalator.process.alert import opening
from escalator.process.core import incidents, queues
from escalator.store.models import Contact, Incident, Page, Timer
from escalator.web import desk, routes
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock

KEY = re.compile(r'<td data-label="Key"><a href="/incidents/(INC-\d+)"')


def keys(client: TestClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    return KEY.findall(response.text)


def badge(html: str, name: str, prefix: str = "queue") -> str:
    """The count a queue's link shows, with its title if it has one."""
    found = re.search(
        rf'id="{prefix}-{name}"[^>]*>[^<]*<span class="count[^"]*"( title="[^"]*")?>([^<]*)<', html
    )
    assert found, f"no {prefix}-{name} badge"
    return found.group(2) + (found.group(1) or "")


# -- the rules, as the console applied them to incidents loaded in Python ------------------


def expected(
    rows: list[Incident],
    timers: dict[int, list[Timer]],
    ringing: dict[int, set[str]],
    owed: set[int],
    who: queues.Who,
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {name: [] for name in queues.NAMES}
    for i in sorted(rows, key=lambda r: -r.id):
        active = i.status in desk.ACTIVE
        runs = desk.clocks(i, timers.get(i.id, []), who.now)
        member = {
            "mine": active
            and (i.owner_person == who.person or who.person in ringing.get(i.id, ())),
            "role": active and (i.owner_role or "") in who.roles,
            "breaching": active and any(c.soon for c in runs),
            "triage": active and i.stage in ("alert", "triage"),
            "manager": active
            and (i.owner_role or "") in ACTION_ROLES["escalation.decide"]
            and not i.policy
            and i.stage != "remediate",
            "escalated": active and i.stage == "escalate",
            "council": active and i.stage == "remediate",
            "updates": i.status in queues.LIVE and i.id in owed,
            "postmortem": i.status == "resolved",
        }
        for name, inside in member.items():
            if inside:
                found[name].append(i.id)
    return found


@dataclass
class Seeded:
    rows: list[Incident]
    timers: dict[int, list[Timer]]
    ringing: dict[int, set[str]]
    owed: set[int]


def seeded(svc: Services, now: datetime, seed: int, count: int = 90) -> Seeded:
    """``count`` incidents in every state, with clocks (pending, fired, cancelled timers and
    the incidents' own due times, some within 15 minutes, some overdue), pages ringing and
    answered, and customers owed an update or not."""
    pick = random.Random(seed)

    def sometime() -> datetime | None:
        return pick.choice([None, now + timedelta(minutes=pick.randint(-90, 90))])

    people = ["santhosh", "dinesh", "michael", "noah", None]
    roles = ["first_tier", "second_tier", "support_manager", "on_call_engineer", None]
    made = Seeded([], {}, {}, set())
    rows, timers, ringing, owed = made.rows, made.timers, made.ringing, made.owed
    with svc.db.write() as session:
        for n in range(count):
            row = Incident(
                title=f"incident {n}",
                source="alarm",
                channel="manual",
                status=pick.choice(["open", "acknowledged", "resolved", "closed"]),
                stage=pick.choice(["alert", "triage", "escalate", "remediate", "postmortem"]),
                owner_role=pick.choice(roles),
                owner_person=pick.choice(people),
                severity=pick.choice([None, "", "SEV1", "SEV3"]),
                reporter="test",
                details={},
                created_at=now,
                updated_at=now,
                triage_due_at=sometime(),
                resolution_due_at=sometime(),
                policy=pick.choice([None, {"chains": {}}]),
            )
            session.add(row)
            session.flush()
            rows.append(row)
            for _ in range(pick.randint(0, 3)):
                timer = Timer(
                    incident_id=row.id,
                    kind=pick.choice([*queues.CLOCK_LABELS, "triage.warning"]),
                    due_at=now + timedelta(minutes=pick.randint(-90, 90)),
                    state=pick.choice(["pending", "pending", "fired", "cancelled"]),
                    payload={},
                    created_at=now,
                )
                session.add(timer)
                timers.setdefault(row.id, []).append(timer)
            for _ in range(pick.randint(0, 2)):
                person, state = pick.choice(people[:4]), pick.choice(["paging", "acknowledged"])
                session.add(
                    Page(
                        incident_id=row.id,
                        chain="on_call",
                        step=0,
                        target="on_call_engineer",
                        person=person,
                        state=state,
                        paged_at=now,
                    )
                )
                if state == "paging":
                    ringing.setdefault(row.id, set()).add(person)
            if pick.random() < 0.3:
                due = sometime()
                session.add(
                    Contact(
                        incident_id=row.id,
                        channel="email",
                        address=f"c{n}@example.com",
                        source="customer",
                        added_by="test",
                        added_at=now,
                        due_at=due,
                    )
                )
                if due is not None:
                    owed.add(row.id)
        session.flush()
        session.expunge_all()
    return made


@pytest.mark.parametrize("seed", [1, 2])
def test_each_queue_holds_what_the_desk_rules_say(
    svc: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(queues, "BADGE_UP_TO", 5)  # some badges full, some not
    made = seeded(svc, clock.now(), seed)
    for person in ("santhosh", "dinesh", "michael", "noah", "raja"):
        who = queues.Who(person, svc.process.roles_of(person), clock.now())
        want = expected(made.rows, made.timers, made.ringing, made.owed, who)
        with svc.db.read() as session:
            counts = queues.counts(session, who)
            for name in queues.NAMES:
                page = queues.listed(session, name, who, limit=500)
                assert [i.id for i in page.items] == want[name], (person, name)
                assert (page.total, page.total_exact) == (len(want[name]), True)
                assert counts[name] == queues.Count(min(len(want[name]), 5), len(want[name]) <= 5)
    assert any(want.values()), "the seed fills some queues"


# -- as people see them --------------------------------------------------------------------


def test_an_incident_paging_you_is_in_your_queue_until_you_answer(
    svc: Services, console: Callable[[str], TestClient], clock: FakeClock
) -> None:
    key = escalated(svc, "Payments failing")
    with svc.db.read() as session:
        engineer = session.get(Incident, 1).owner_person  # type: ignore[union-attr]
    assert engineer
    with svc.unit_of_work(engineer) as ctx:
        incidents.acknowledge(ctx, key)
    clock.advance(timedelta(hours=1))  # no fix within the hour: help is paged
    svc.worker().run_once()
    with svc.db.read() as session:
        [helper] = [p.person for p in session.query(Page).filter_by(state="paging")]
    assert helper and helper != engineer
    helping = console(helper)
    assert keys(helping, "/incidents?queue=mine") == [key]
    assert badge(helping.get("/queues").text, "mine", "nav") == "1"
    assert keys(console(engineer), "/incidents?queue=mine") == [key]  # theirs: they own it
    answered = helping.post(f"/incidents/{key}/acknowledge", follow_redirects=False)
    assert answered.status_code == 303  # joined as a responder; the engineer stays in charge
    assert keys(helping, "/incidents?queue=mine") == []
    assert badge(helping.get("/queues").text, "mine", "nav") == "0"


def test_an_untriaged_incident_stays_breaching_after_its_triage_timer_fired(
    svc: Services, console: Callable[[str], TestClient], clock: FakeClock
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="Checkout down", caller="Ann").key  # triage: 30 min
    santhosh = console("santhosh")
    assert keys(santhosh, "/incidents?queue=breaching") == []
    clock.advance(timedelta(minutes=15))
    assert keys(santhosh, "/incidents?queue=breaching") == [key]  # due in 15 min
    clock.advance(timedelta(minutes=20))
    svc.worker().run_once()  # the deadline fires; the incident is still not triaged
    with svc.db.read() as session:
        assert not session.query(Timer).filter_by(kind="triage.deadline", state="pending").all()
    page = santhosh.get("/incidents?queue=breaching").text
    assert KEY.findall(page) == [key]
    assert 'clock-label">Triage</span> <span class="clock-left">overdue 5 min' in page
    assert badge(santhosh.get("/incidents").text, "breaching") == "1"
    with svc.unit_of_work("santhosh") as ctx:
        incidents.resolve(ctx, key)
    assert keys(santhosh, "/incidents?queue=breaching") == []
    assert keys(santhosh, "/incidents?queue=postmortem") == [key]


def test_a_badge_counts_up_to_its_cap_and_says_there_are_more(
    svc: Services, console: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "BADGE_UP_TO", 3)
    monkeypatch.setattr(queues, "COUNT_UP_TO", 4)
    with svc.unit_of_work("santhosh") as ctx:
        for n in range(3):
            opening.report(ctx, title=f"report {n}")
    dinesh = console("dinesh")
    assert badge(dinesh.get("/incidents").text, "triage") == "3"  # exactly the cap: exact
    assert "3 incidents; newest first" in dinesh.get("/incidents?queue=triage").text
    with svc.unit_of_work("santhosh") as ctx:
        for n in range(3):
            opening.report(ctx, title=f"more {n}")
    page = dinesh.get("/incidents").text
    assert badge(page, "triage") == '3+ title="more than 3"'
    assert badge(page, "postmortem") == "0"
    assert badge(dinesh.get("/queues").text, "role", "nav") == '3+ title="more than 3"'
    assert "More than 4 incidents; newest first" in dinesh.get("/incidents?queue=triage").text


def test_a_queue_lists_newest_first_a_page_at_a_time(
    svc: Services, console: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "PAGE_SIZE", 2)
    with svc.unit_of_work("santhosh") as ctx:
        for n in range(5):
            opening.report(ctx, title=f"quotes time out {n}" if n % 2 == 0 else f"other {n}")
        incidents.resolve(ctx, "INC-4")
    dinesh = console("dinesh")
    assert keys(dinesh, "/incidents?queue=triage") == ["INC-5", "INC-3"]
    page = dinesh.get("/incidents?queue=triage").text
    older = re.search(r'<a href="([^"]+)" id="older">', page)
    assert older and "queue=triage" in older.group(1) and "before=INC-3" in older.group(1)
    second = dinesh.get(older.group(1).replace("&amp;", "&")).text
    assert KEY.findall(second) == ["INC-2", "INC-1"]
    assert 'id="older"' not in second and "older than INC-3" in second
    # a search within a queue, and the status filter, keep to themselves page after page
    assert keys(dinesh, "/incidents?queue=triage&q=quotes") == ["INC-5", "INC-3"]
    searched = dinesh.get("/incidents?queue=triage&q=quotes").text
    older = re.search(r'<a href="([^"]+)" id="older">', searched)
    assert older and "q=quotes" in older.group(1)
    assert keys(dinesh, older.group(1).replace("&amp;", "&")) == ["INC-1"]
    assert keys(dinesh, "/incidents?status=open") == ["INC-5", "INC-3"]
    listed = dinesh.get("/incidents?status=open").text
    older = re.search(r'<a href="([^"]+)" id="older">', listed)
    assert older and "status=open" in older.group(1)
    assert keys(dinesh, older.group(1).replace("&amp;", "&")) == ["INC-2", "INC-1"]
