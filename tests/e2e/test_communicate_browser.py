"""COMMUNICATE in real Chromium: second tier opens "Updates due", sees the overdue update
marked, writes it from the pre-filled draft (a mistake keeps what was typed), and the queue
counts down to the promised next update; the incident's page shows the same panel."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.alert import opening
from tests.e2e.live import serving
from tests.e2e.test_oncall_browser import sign_in
from tests.fakes import FakeClock


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_updates_due_and_sending_an_update(
    svc: Services, token_for: Callable[[str], str], browser: Browser, clock: FakeClock
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        late = opening.report(
            ctx, title="Quotes time out <b>now</b>", caller="Bob", contact="+1 555 0100"
        ).key
    clock.advance(timedelta(minutes=30))
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="Slow search", caller="Ann", contact="+1 555 0199")
    clock.advance(timedelta(minutes=40))  # Bob's hour is up; Ann has 20 minutes left

    with serving(create_app(svc, run_worker=False)) as base:
        page = sign_in(browser, base, token_for("noah"))
        page.click("nav >> text=Updates due")
        expect(page.locator("h1")).to_have_text("Updates due")
        rows = page.locator("#due-rows tr.due")
        expect(rows).to_have_count(2)
        overdue = page.locator(f"tr.due[data-incident={late}]")
        expect(overdue).to_have_class(re.compile(r"\boverdue\b"))
        expect(overdue.locator(".left")).to_have_text("overdue 10m")
        expect(overdue).to_contain_text("Quotes time out <b>now</b>")  # text, not markup
        expect(page.locator("tr.due[data-incident=INC-2] .left")).to_have_text("in 20m")

        overdue.get_by_role("link", name="Write update").click()
        expect(page.locator("#contact-1")).to_contain_text("overdue 10m")
        text = page.locator("#update-text")
        expect(text).to_have_value(
            re.compile(
                r'^Hello Bob,\n\nHere is our latest on "Quotes time out <b>now</b>" \(INC-1\)'
            )
        )
        text.fill("Hello Bob,\n\nWe restarted the quote service; quotes load again.")
        page.locator("#update-next").fill("")
        page.click("#send-update button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text(
            "so the update must say when the next one comes"
        )
        expect(page.locator("#update-text")).to_have_value(
            "Hello Bob,\n\nWe restarted the quote service; quotes load again."
        )
        page.locator("#update-next").fill("30m")
        page.click("#send-update button[type=submit]")
        entry = page.locator("#contact-1 .entry.out")
        expect(entry).to_contain_text("sent")
        expect(entry).to_contain_text("promised next by 2026-11-02 10:40:00 UTC")
        expect(entry.locator(".body")).to_contain_text("Our next update will reach you by")
        expect(page.locator("#contact-1 .due-line")).to_contain_text("(in 30m)")

        page.click("nav >> text=Updates due")
        expect(page.locator(f"tr.due[data-incident={late}] .left")).to_have_text("in 30m")
        expect(page.locator(f"tr.due[data-incident={late}]")).not_to_have_class(
            re.compile(r"\boverdue\b")
        )

        page.goto(f"{base}/incidents/{late}")
        panel = page.locator("#customer-panel")
        expect(panel).to_contain_text("Bob")
        expect(panel.locator(".entry.out")).to_have_count(1)
