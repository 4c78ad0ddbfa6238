"""On call in real Chromium: the calendar with an override the Engineering Manager adds in
the page, and a page acknowledged from the link it came with."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.escalate import pages
from escalator.store.models import Page
from tests.e2e.live import serving
from tests.escalation.conftest import escalated


def sign_in(browser: Browser, base: str, token: str):  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(f"{base}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    return page


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_on_call_calendar_and_an_override(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    with serving(create_app(svc, run_worker=False)) as base:
        page = sign_in(browser, base, token_for("raja"))
        page.click("nav >> text=On call")
        expect(page.locator("h1")).to_have_text("On call")
        # Monday 2 November 2026: Michael's week on call, Jonathan's as SME
        expect(page.locator("tr[data-role=on_call_engineer] .holder")).to_have_text("michael")
        calendar = page.get_by_label("on call calendar")
        expect(calendar).to_contain_text("Mon 02 Nov")
        expect(calendar).to_contain_text("michael")
        expect(calendar).to_contain_text("09:00 jonathan")  # hand-off on Monday 9 November

        expect(page.locator("#rotation-on_call .definition")).to_contain_text(
            "Members in turn: vijay, michael, jonathan; 1w shifts handing over at 09:00 UTC"
        )
        form = page.locator("#rotation-on_call form[action$=overrides]")
        form.locator("select[name=who]").select_option("vijay")
        form.locator("input[name=start]").fill("2026-11-03T09:00")
        form.locator("input[name=end]").fill("2026-11-03T08:00")
        form.locator("button").click()
        expect(page.get_by_role("alert")).to_contain_text("before it starts")

        form = page.locator("#rotation-on_call form[action$=overrides]")
        form.locator("select[name=who]").select_option("vijay")
        form.locator("input[name=start]").fill("2026-11-03T09:00")
        form.locator("input[name=end]").fill("2026-11-03T17:00")
        form.locator("button").click()
        expect(page.locator("#rotation-on_call")).to_contain_text("vijay covers 03 Nov 09:00")
        expect(page.get_by_label("on call calendar")).to_contain_text("09:00 vijay (override)")


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_page_is_acknowledged_from_its_link(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    key = escalated(svc, "Checkout 500s")
    with svc.unit_of_work("dinesh") as ctx:
        paged = ctx.session.query(Page).one()
        link = pages.ack_url(ctx, paged)
    with serving(create_app(svc, run_worker=False)) as base:
        page = browser.new_page()
        page.goto(base + link)
        expect(page.locator("h1")).to_contain_text("Checkout 500s")
        expect(page.locator("#status")).to_have_text("open")
        page.click("button:has-text('Acknowledge as michael')")
        expect(page.get_by_role("status")).to_have_text(f"Acknowledged {key} as michael.")
        expect(page.locator("#status")).to_have_text("acknowledged")

        console = sign_in(browser, base, token_for("dinesh"))
        console.goto(f"{base}/incidents/{key}")
        expect(console.locator("table.pages")).to_contain_text("acknowledged by michael")
        expect(console.locator("#timeline")).to_contain_text("michael acknowledge")
