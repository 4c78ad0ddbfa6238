import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalator.app import Services
from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure
from escalator.engine.worker import Worker
from escalator.process.alert import opening
from escalator.process.core import incidents, queries, records
from escalator.process.core.context import Ctx
from escalator.store.models import Incident, OutboxMessage, Timer
from tests.fakes import FakeClock


class Recorder:
    """A sender whose next outcomes the test scripts; it records every attempt."""

    def __init__(self) -> None:
        self.attempts: list[Outgoing] = []
        self.script: list[Exception] = []

    def send(self, message: Outgoing) -> None:
        self.attempts.append(message)
        if self.script:
            raise self.script.pop(0)


@pytest.fixture
def recorder(svc: Services) -> Recorder:
    rec = Recorder()
    svc.senders["console"] = rec
    return rec


def report(svc: Services) -> str:
    with svc.unit_of_work("santhosh") as ctx:
        return opening.report(ctx, title="Checkout prices missing").key


def kinds(svc: Services, key: str) -> list[str]:
    with svc.db.read() as s:
        return [e.kind for e in queries.timeline(s, queries.get_incident(s, key))]


def test_the_triage_deadline_fires_once_at_thirty_minutes_and_tells_the_manager(
    svc: Services, clock: FakeClock, recorder: Recorder
) -> None:
    key = report(svc)
    worker = svc.worker("w1")
    worker.run_once()
    recorder.attempts.clear()
    clock.advance(timedelta(minutes=19, seconds=59))
    worker.run_once()
    assert recorder.attempts == [], "nothing before the warning"
    clock.advance(timedelta(seconds=1))
    worker.run_once()
    assert [(m.destination, m.subject) for m in recorder.attempts] == [
        ("santhosh", f"[{key}] Triage due in 10m: Checkout prices missing")
    ], "the warning goes to the triager on duty, ten minutes before"
    recorder.attempts.clear()
    clock.advance(timedelta(minutes=9, seconds=59))
    worker.run_once()
    assert "triage_breached" not in kinds(svc, key)
    assert recorder.attempts == []
    clock.advance(timedelta(seconds=1))
    worker.run_once()
    worker.run_once()
    assert kinds(svc, key).count("triage_breached") == 1
    assert kinds(svc, key).count("triage_warning") == 1
    assert [(m.destination, m.subject) for m in recorder.attempts] == [
        ("dinesh", f"[{key}] Triage overdue (30m): Checkout prices missing")
    ]
    with svc.db.read() as s:
        timer = s.scalars(select(Timer).where(Timer.kind == "triage.deadline")).one()
        assert (timer.state, timer.fired_by, timer.late_ms) == ("fired", "w1", 0)


def test_a_worker_that_was_down_fires_late_and_says_how_late(
    svc: Services, clock: FakeClock
) -> None:
    key = report(svc)
    clock.advance(timedelta(hours=2))
    svc.worker().run_once()
    with svc.db.read() as s:
        incident = queries.get_incident(s, key)
        [breach] = [e for e in queries.timeline(s, incident) if e.kind == "triage_breached"]
        assert breach.data["late_seconds"] == 90 * 60
        deadline = s.scalars(select(Timer).where(Timer.kind == "triage.deadline")).one()
        assert deadline.late_ms == 90 * 60 * 1000


def test_escalating_in_time_stops_the_triage_clock(svc: Services, clock: FakeClock) -> None:
    key = report(svc)
    with svc.unit_of_work("santhosh") as ctx:
        incidents.escalate(ctx, key, to_role="support_manager")
    clock.advance(timedelta(hours=1))
    svc.worker().run_once()
    assert "triage_breached" not in kinds(svc, key)


def test_a_failing_message_is_retried_with_backoff_then_delivered(
    svc: Services, clock: FakeClock, recorder: Recorder
) -> None:
    report(svc)
    recorder.script = [TemporaryFailure("503 from peer"), TemporaryFailure("still down")]
    worker = svc.worker()
    worker.run_once()  # two messages (santhosh, dinesh): first fails, second fails
    assert len(recorder.attempts) == 2
    worker.run_once()
    assert len(recorder.attempts) == 2, "nothing is retried before its backoff"
    clock.advance(timedelta(seconds=3))
    worker.run_once()
    assert len(recorder.attempts) == 4
    with svc.db.read() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.state, r.attempts, r.last_error) for r in rows] == [("sent", 2, None)] * 2


def test_retry_after_is_honoured(svc: Services, clock: FakeClock, recorder: Recorder) -> None:
    report(svc)
    recorder.script = [TemporaryFailure("429", retry_after=timedelta(seconds=45))]
    worker = svc.worker()
    worker.run_once()
    clock.advance(timedelta(seconds=44))
    worker.run_once()
    assert len(recorder.attempts) == 2  # the 429'd one waits; the other went through
    clock.advance(timedelta(seconds=1))
    worker.run_once()
    assert len(recorder.attempts) == 3


def test_permanent_failures_and_exhausted_retries_are_dead_lettered_not_dropped(
    make_services: object, database_url: str, clock: FakeClock
) -> None:
    svc = make_services(database_url, outbox_max_attempts=3)  # type: ignore[operator]
    rec = Recorder()
    svc.senders["console"] = rec
    report(svc)
    rec.script = [PermanentFailure("channel_not_found")] + [TemporaryFailure("down")] * 3
    worker = svc.worker()
    for _ in range(6):
        worker.run_once()
        clock.advance(timedelta(minutes=1))
    with svc.db.read() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.state, r.attempts, r.last_error) for r in rows] == [
            ("dead", 1, "channel_not_found"),
            ("dead", 3, "down"),
        ]
        assert queries.backlog(s, clock.now()).outbox_by_state == {"dead": 2}


def test_a_message_for_an_unconfigured_channel_is_dead_lettered_with_the_reason(
    svc: Services,
) -> None:
    report(svc)
    del svc.senders["console"]
    svc.worker().run_once()
    with svc.db.read() as s:
        reasons = {r.last_error for r in s.scalars(select(OutboxMessage)).all()}
    assert reasons == {"no sender configured for channel 'console'"}


def test_a_broken_handler_is_retried_with_backoff_then_set_aside_without_stopping_the_batch(
    svc: Services, clock: FakeClock
) -> None:
    first, second = report(svc), report(svc)
    calls: list[int] = []

    def explode(ctx: object, incident: object, timer: Timer) -> None:
        calls.append(timer.id)
        if timer.incident_id == 1:
            raise RuntimeError("boom")

    worker = svc.worker()
    worker.handlers = {"triage.deadline": explode, "triage.warning": explode}
    clock.advance(timedelta(hours=1))
    worker.run_once()
    with svc.db.read() as s:
        rows = s.scalars(select(Timer).order_by(Timer.id)).all()
        assert [(t.incident_id, t.state, t.attempts) for t in rows] == [
            (1, "pending", 1),
            (1, "pending", 1),
            (2, "fired", 0),
            (2, "fired", 0),
        ], "the other incident's timers fired; the broken ones wait for their retry"
    # the batch was tried together first (rolled back at the broken handler), then each alone
    tried = len(calls)
    assert sorted(set(calls)) == [1, 2, 3, 4] and tried == 5
    worker.run_once()
    assert len(calls) == tried, "nothing is retried before its backoff"
    for _ in range(10):
        clock.advance(timedelta(minutes=1))
        worker.run_once()
    with svc.db.read() as s:
        timers = s.scalars(select(Timer).order_by(Timer.id)).all()
        states = [(t.state, t.attempts, t.error) for t in timers]
        assert states[:2] == [("failed", 5, "RuntimeError: boom")] * 2
        notes = [e.note for e in queries.timeline(s, queries.get_incident(s, first))]
        assert sum("could not fire after 5 tries: RuntimeError: boom" in n for n in notes) == 2
        assert queries.backlog(s, clock.now()).timers_failed == 2
    assert first != second


def test_a_stopping_worker_finishes_its_batch_not_the_backlog(
    svc: Services, clock: FakeClock
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        for n in range(3):
            opening.open_incident(ctx, title=f"disk {n}", source="alarm", channel="manual")
    clock.advance(timedelta(hours=1))
    worker = svc.worker()
    worker.batch = 2
    stop = threading.Event()
    original = worker.fire_due_timers

    def fire_then_stop() -> int:
        stop.set()  # SIGTERM arrives during the first batch
        return original()

    worker.fire_due_timers = fire_then_stop  # type: ignore[method-assign]
    worker.run_once(stop=stop)
    with svc.db.read() as s:
        fired = s.query(Timer).filter_by(state="fired").count()
    assert fired == 2, "one batch of two, then the worker stops"


def _timers(svc: Services) -> list[tuple[int | None, str, str]]:
    with svc.db.read() as s:
        rows = s.scalars(select(Timer).where(Timer.kind.like("t.%")).order_by(Timer.id))
        return [(t.incident_id, t.kind, t.state) for t in rows]


@pytest.mark.parametrize("one_breaks", [False, True], ids=["together", "one-breaks"])
def test_a_batch_fired_together_cancels_and_schedules_as_one_timer_at_a_time_would(
    svc: Services, clock: FakeClock, one_breaks: bool
) -> None:
    """Fired together, each timer sees what the earlier ones of its incident did: a timer
    cancelled by an earlier one does not fire, a timer scheduled after a cancellation is
    kept; and when one handler breaks (the batch is then fired one timer at a time), only
    that timer's effects are rolled back."""
    keys = [report(svc) for _ in range(3)]
    with svc.unit_of_work("santhosh") as ctx:
        for key in keys:
            incident = records.load(ctx, key)
            records.schedule(ctx, incident, "t.first", ctx.now + timedelta(minutes=1))
            records.schedule(ctx, incident, "t.second", ctx.now + timedelta(minutes=1, seconds=1))
            records.schedule(ctx, incident, "t.later", ctx.now + timedelta(days=1))
    broken = records.incident_id(keys[2]) if one_breaks else None
    called: list[tuple[int, str]] = []

    def first(ctx: Ctx, incident: Incident, timer: Timer) -> None:
        called.append((incident.id, timer.kind))
        records.cancel_timers(ctx, incident, ("t.second", "t.later"))
        records.schedule(ctx, incident, "t.later", ctx.now + timedelta(days=2))
        ctx.session.flush()  # as a handler that needs a row's id does
        if incident.id == broken:
            raise RuntimeError("boom")

    def second(ctx: Ctx, incident: Incident, timer: Timer) -> None:
        called.append((incident.id, timer.kind))

    worker = svc.worker()
    worker.handlers = {"t.first": first, "t.second": second}
    clock.advance(timedelta(minutes=2))
    worker.fire_due_timers()
    ok = [records.incident_id(k) for k in keys if records.incident_id(k) != broken]
    assert [c for c in called if c[0] in ok and c[1] == "t.second"] == [], (
        "a timer cancelled by an earlier one of its incident does not fire"
    )
    rows = _timers(svc)
    for i in ok:
        assert [(k, st) for n, k, st in rows if n == i] == [
            ("t.first", "fired"),
            ("t.second", "cancelled"),
            ("t.later", "cancelled"),
            ("t.later", "pending"),  # scheduled after the cancellation: kept
        ]
    if one_breaks:
        assert [(k, st) for n, k, st in rows if n == broken] == [
            ("t.first", "pending"),  # rolled back, to be tried again after its backoff
            ("t.second", "fired"),  # the cancellation was rolled back with it
            ("t.later", "pending"),
        ]


def _a_message_and_a_timer(svc: Services, channel: str, kind: str) -> Worker:
    """An incident with one message waiting for ``channel`` and a timer of ``kind`` due now
    (the report's own messages already sent); the worker to run them."""
    key = report(svc)
    worker = svc.worker("w1")
    worker.run_once()
    with svc.unit_of_work("santhosh") as ctx:
        incident = records.load(ctx, key)
        records.enqueue(
            ctx,
            incident=incident,
            channel=channel,
            destination="peer",
            subject="hello",
            idempotency_key=f"{channel}:1",
        )
        records.schedule(ctx, incident, kind, ctx.now)
    return worker


def test_a_round_fires_timers_while_its_messages_are_on_their_way(
    svc: Services, clock: FakeClock
) -> None:
    """A round claims the due messages and starts sending them, fires the due timers while
    the peers answer, then records the outcomes: the worker does not sit waiting on a peer
    while timers are due."""
    worker = _a_message_and_a_timer(svc, "slow", "t.mark")
    sending = threading.Event()
    answered = threading.Event()
    seen: list[tuple[bool, bool]] = []

    class SlowPeer:
        def send(self, message: Outgoing) -> None:
            sending.set()
            answered.wait(10)  # the peer takes its time

    def mark(ctx: Ctx, incident: Incident, timer: Timer) -> None:
        # fired while the message is on its way (old rounds sent only after firing)
        seen.append((sending.wait(10), answered.is_set()))
        answered.set()

    worker.outbox.senders = {**worker.outbox.senders, "slow": SlowPeer()}
    worker.handlers = {**worker.handlers, "t.mark": mark}
    busy, error = worker.round()
    assert error is None and busy
    assert seen == [(True, False)], "the timer fired while the peer had not answered yet"
    with svc.db.read() as s:
        state = s.scalars(select(OutboxMessage.state).where(OutboxMessage.channel == "slow"))
        assert list(state) == ["sent"], "and the outcome was recorded in the same round"


def test_what_a_round_makes_is_sent_in_that_round_when_nothing_else_was_on_its_way(
    svc: Services, clock: FakeClock, recorder: Recorder
) -> None:
    """A round sends the messages it finds at its start while it fires timers; when there
    were none, what its alerts and timers made is sent before the round ends, so a new
    incident's first message does not wait for another round."""
    key = report(svc)
    worker = svc.worker("w1")
    worker.run_once()
    with svc.unit_of_work("santhosh") as ctx:
        records.schedule(ctx, records.load(ctx, key), "t.tell", ctx.now + timedelta(minutes=1))

    def tell(ctx: Ctx, incident: Incident, timer: Timer) -> None:
        records.enqueue(
            ctx,
            incident=incident,
            channel="console",
            destination="santhosh",
            subject="told by the timer",
            idempotency_key="t.tell:1",
        )

    worker.handlers = {**worker.handlers, "t.tell": tell}
    recorder.attempts.clear()
    clock.advance(timedelta(minutes=2))
    busy, error = worker.round()
    assert error is None and busy
    assert [m.subject for m in recorder.attempts] == ["told by the timer"], "sent this round"


def test_on_postgresql_what_was_delivered_is_recorded_while_the_round_fires(
    svc: Services, clock: FakeClock
) -> None:
    """The outcomes of the messages on their way are recorded as they come back, while the
    round fires timers, so a worker that dies mid-firing does not send them again. (On
    SQLite the recording waits for the write lock the firing batch holds.)"""
    if not svc.db.is_postgres:
        pytest.skip("SQLite records once the firing batch has committed")
    worker = _a_message_and_a_timer(svc, "peer", "t.look")
    seen: list[str] = []
    firing = threading.Event()

    class Peer:
        def send(self, message: Outgoing) -> None:
            firing.wait(10)  # answers once the batch (which read the incident's rows) fires

    def look(ctx: Ctx, incident: Incident, timer: Timer) -> None:
        firing.set()
        stop = threading.Event()
        for _ in range(200):  # the peer answers now; its outcome is recorded meanwhile
            with svc.db.read() as s:
                state = s.scalar(select(OutboxMessage.state).where(OutboxMessage.channel == "peer"))
            if state == "sent":
                break
            stop.wait(0.05)
        seen.append(state or "")

    worker.outbox.senders = {**worker.outbox.senders, "peer": Peer()}
    worker.handlers = {**worker.handlers, "t.look": look}
    busy, error = worker.round()
    assert error is None and busy
    assert seen == ["sent"], "recorded while the timer was still firing"
