"""The customers panel and "Updates due" in the console, and the weekly punctuality of final
updates (review issues 5, 11 and 16)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.communicate import updates
from escalator.process.core import incidents
from escalator.process.postmortem import readings
from tests.fakes import FakeClock


def reported(svc: Services) -> str:
    with svc.unit_of_work("santhosh") as ctx:
        return opening.report(ctx, title="Quotes time out", caller="Bob", contact="+1 555 0100").key


def test_the_update_and_waive_forms_are_offered_to_whom_may_use_them(
    svc: Services, console: Callable[[str], TestClient]
) -> None:
    key = reported(svc)
    with svc.unit_of_work("santhosh") as ctx:
        incidents.resolve(ctx, key)
    page = f"/incidents/{key}/customers"
    michael, noah, dinesh = (console(p).get(page).text for p in ("michael", "noah", "dinesh"))
    assert 'id="send-update"' not in michael and 'id="waive"' not in michael
    assert "Updates to customers are written by the" in michael
    assert 'id="send-update"' in noah and 'id="waive"' not in noah
    assert 'id="send-update"' in dinesh and 'id="waive"' in dinesh

    refused = console("noah").post(
        f"{page}/update", data={"text": "It is fixed, Bob.", "back": "customers"}
    )
    assert refused.status_code == 422 and ">It is fixed, Bob.</textarea>" in refused.text


def test_updates_due_says_overdue_updates_were_reported_only_when_one_is(
    svc: Services, console: Callable[[str], TestClient], clock: FakeClock
) -> None:
    key = reported(svc)
    noah = console("noah")
    assert key in noah.get("/updates").text
    assert "reported to the Support Manager:" not in noah.get("/updates").text
    clock.advance(timedelta(hours=2))
    shown = noah.get("/updates").text
    assert 'id="overdue-reported"' in shown and f">{key}</a>." in shown


def test_a_final_update_sent_soon_after_resolving_is_on_time(
    svc: Services, clock: FakeClock
) -> None:
    start = clock.now()
    grace = svc.process.spec.communication.reminder_before
    keys = [reported(svc), reported(svc)]
    for key, after in zip(keys, (timedelta(minutes=1), grace + timedelta(minutes=1)), strict=True):
        with svc.unit_of_work("santhosh") as ctx:
            incidents.resolve(ctx, key)
        clock.advance(after)
        with svc.unit_of_work("noah") as ctx:
            updates.send(ctx, key, text="It is resolved.")
    with svc.unit_of_work("dinesh") as ctx:
        told = readings.customer_updates(ctx, start, clock.now() + timedelta(seconds=1))
    assert not isinstance(told, readings.NotAvailable)
    assert (told.due, told.on_time) == (2, 1), "within reminder_before: on time"
    assert told.late_seconds_median == 60
