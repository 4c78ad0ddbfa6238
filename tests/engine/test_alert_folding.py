"""The worker folds a batch of alert changes together (a few queries a batch, not a few an
alert), with the same outcome as judging them one at a time; an alert that cannot be judged
sends the batch back to one at a time, where it alone is retried and the others go on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from escalator.app import Services
from escalator.domain.alerts import AlertIn, AlertStatus
from escalator.process.alert import alarms, intake
from escalator.process.core.context import SYSTEM
from escalator.store.models import Alert, Incident, OutboxMessage, TimelineEvent
from tests.conftest import pg_schema


def alert(group: str, n: int, status: AlertStatus = AlertStatus.FIRING) -> AlertIn:
    labels = {"alertname": group, "service": "pricing", "pod": f"p{n}"}
    return AlertIn(
        source="alertmanager",
        fingerprint=f"{group}-{n}",
        status=status,
        title=f"{group} on p{n}",
        labels=labels,
        service="pricing",
    )


def store(svc: Services, alerts: list[AlertIn]) -> None:
    with svc.db.write() as session:
        intake.save_alerts(
            session,
            alerts,
            integration_id=None,
            group_by=svc.process.spec.intake.group_by,
            now=svc.clock.now(),
        )


# batches as intake stores them between two rounds of the worker
STEPS: list[list[AlertIn]] = [
    [alert(g, n) for g in ("A", "B", "C") for n in range(5)],
    [
        alert("A", 0, AlertStatus.RESOLVED),  # A goes on: four still fire
        *[alert("B", n, AlertStatus.RESOLVED) for n in range(5)],  # B resolves ...
        alert("B", 9),  # ... and a new alert of B, later in the same batch, opens another
        alert("C", 1),  # the same status again: nothing to say
        alert("C", 2, AlertStatus.INSUFFICIENT_DATA),
        alert("D", 0),
    ],
    [alert("B", n) for n in range(3)] + [alert("A", 0)],  # fired again: onto the open ones
]


def outcome(svc: Services) -> dict[str, Any]:
    with svc.db.read() as s:
        titles = {i.id: (i.title, i.status) for i in s.scalars(select(Incident))}
        return {
            "incidents": sorted(titles.values()),
            "alerts": sorted(
                (a.fingerprint, a.seen_status, a.pending, titles.get(a.incident_id or 0))
                for a in s.scalars(select(Alert))
            ),
            "timeline": sorted(
                (titles[e.incident_id][0], e.kind, e.note) for e in s.scalars(select(TimelineEvent))
            ),
            "outbox": sorted(
                (m.channel, m.destination, m.subject) for m in s.scalars(select(OutboxMessage))
            ),
        }


@pytest.fixture
def second_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same kind."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/second.db"
        return
    with pg_schema() as url:
        yield url


def test_a_batch_folded_together_ends_as_one_alert_at_a_time_would(
    make_services: Callable[..., Services], database_url: str, second_url: str
) -> None:
    together, alone = make_services(database_url), make_services(second_url)
    for step in STEPS:
        for svc, at_once in ((together, True), (alone, False)):
            store(svc, step)
            with svc.unit_of_work(SYSTEM) as ctx:
                assert alarms.process_pending(ctx, together=at_once) == len(step)
    assert outcome(together) == outcome(alone)
    incidents = outcome(together)["incidents"]
    assert sorted(title for title, _ in incidents) == [
        "A on p0",
        "B on p0",
        "B on p9",
        "C on p0",
        "D on p0",
    ]
    assert ("B on p0", "resolved") in incidents and ("B on p9", "open") in incidents


def test_folding_a_storm_takes_a_few_statements_a_batch_not_a_few_an_alert(
    svc: Services,
) -> None:
    store(svc, [alert(g, 0) for g in "ABCDE"])
    svc.worker().ingest_alerts()  # five incidents open
    store(svc, [alert(g, n) for g in "ABCDE" for n in range(1, 41)])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    event.listen(svc.db.engine, "before_cursor_execute", count)
    try:
        assert svc.worker().ingest_alerts() == 200
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", count)
    assert len(statements) < 15, sorted(set(statements))
    with svc.db.read() as s:
        kinds = s.scalars(select(TimelineEvent.kind).where(TimelineEvent.kind == "alert_fired"))
        assert len(kinds.all()) == 200
        assert not s.scalars(select(Alert).where(Alert.pending.is_(True))).all()


def test_an_alert_that_cannot_be_judged_is_retried_alone_and_the_batch_goes_on(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(svc, [alert("A", 0), alert("B", 0)])
    svc.worker().ingest_alerts()
    original = alarms.record

    def poisoned(ctx: Any, incident: Incident, kind: str, **kw: Any) -> TimelineEvent:
        if kw.get("note") == "A on p3":
            raise RuntimeError("cannot judge A on p3")
        return original(ctx, incident, kind, **kw)

    monkeypatch.setattr(alarms, "record", poisoned)
    store(svc, [alert(g, n) for g in "AB" for n in range(1, 6)])
    assert svc.worker().ingest_alerts() == 10
    with svc.db.read() as s:
        left = {a.fingerprint: a for a in s.scalars(select(Alert).where(Alert.pending.is_(True)))}
        folded = s.scalars(select(TimelineEvent.note).where(TimelineEvent.kind == "alert_fired"))
        assert sorted(folded.all()) == sorted(
            f"{g} on p{n}" for g in "AB" for n in range(1, 6) if (g, n) != ("A", 3)
        )
    assert list(left) == ["A-3"]
    assert left["A-3"].attempts == 1 and left["A-3"].retry_at is not None
    assert left["A-3"].error == "RuntimeError: cannot judge A on p3"
