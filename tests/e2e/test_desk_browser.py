"""The console as a support desk (issue 14), in real Chromium: only the actions that make
sense, the next one marked; the header following changes made elsewhere; a blank severity
form that shows what was recorded; clocks as countdowns; queues; My pages; every page
fitting at 1,280 and 390 px, with axe-core finding nothing serious."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from escalator.api.server import create_app
from escalator.app import Services
from escalator.domain.severity import Answers
from escalator.process.alert import opening
from escalator.process.core import incidents
from escalator.process.escalate import escalation
from escalator.process.remediate import council
from escalator.process.triage import assessment, playbooks
from escalator.store.models import Incident, Page
from tests.conftest import need
from tests.e2e.live import serving
from tests.e2e.test_oncall_browser import sign_in
from tests.escalation.conftest import escalated
from tests.fakes import FakeClock


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
        page.keyboard.press("/")
        expect(page.locator("input[data-search]")).to_be_focused()
        page.keyboard.press("Escape")
        page.locator("h1").click()
        page.keyboard.press("j")
        expect(page.locator("tr.current")).to_contain_text("INC-2")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/incidents/INC-2")
        page.keyboard.press("a")
        expect(page.locator("#status")).to_have_text("acknowledged")
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_queues_clocks_and_my_pages(
    svc: Services, token_for: Callable[[str], str], browser: Browser, clock: FakeClock
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="Checkout down", caller="Ann")  # INC-1, in triage
        key = opening.report(ctx, title="Search slow").key  # INC-2, to the Support Manager
        incidents.escalate(ctx, key, to_role="support_manager", note="the stakeholder says SEV1")
    clock.advance(timedelta(minutes=20))
    paged = escalated(svc, "Payments failing")  # INC-3: on call paged now
    with svc.db.read() as session:
        engineer = session.get(Incident, 3).owner_person  # type: ignore[union-attr]
    assert paged == "INC-3" and engineer
    with serving(create_app(svc, run_worker=False)) as base:
        page = sign_in(browser, base, token_for("dinesh"))
        # item 3: queues with counts in the navigation
        expect(page.locator("#nav-mine .count")).to_have_text("1")
        expect(page.locator("#nav-breaching .count")).to_have_text("3")
        page.click("#nav-breaching")
        rows = page.locator("#incident-rows tr")
        expect(rows).to_have_count(3)
        # item 2: every running clock as a countdown badge in the list
        expect(rows.filter(has_text="INC-1")).to_contain_text("Triage due in 10 min")
        expect(rows.filter(has_text="INC-2")).to_contain_text("Manager's decision overdue 5 min")
        expect(rows.filter(has_text="INC-3")).to_contain_text("Page answered due in 15 min")
        expect(rows.filter(has_text="INC-3")).to_contain_text("Resolve due in 4h")
        page.click("#queue-manager")
        expect(page.locator("#incident-rows tr")).to_have_count(1)
        page.click("text=INC-2")
        expect(page.locator("#clocks .overdue")).to_contain_text("Manager's decision overdue 5 min")
        expect(page.locator("#actions .primary")).to_have_text("Decide")
        # item 12: the built-in MCT ticket has a page of its own, linked from the incident
        page.click("#ticket-link")
        expect(page.locator("h1")).to_contain_text("MCT-2")
        expect(page.locator("#ticket-status")).to_have_text("Open")
        expect(page.locator("#ticket-incidents")).to_contain_text("INC-2 Search slow")
        # a manager reads everyone's messages, but not the link that acknowledges as another
        page.click("nav >> text=Messages")
        expect(page.locator("#message-rows")).to_contain_text("you are paged as on_call_engineer")
        expect(page.locator("#message-rows")).to_contain_text("its recipient's only")
        expect(page.locator("#message-rows a[href*='/ack/']")).to_have_count(0)
        page.close()

        # item 4: the paged engineer sees and acknowledges the page, and reads its message
        page = sign_in(browser, base, token_for(engineer))
        stale = sign_in(browser, base, token_for(engineer))
        stale.goto(f"{base}/pages")
        page.click("nav >> text=My pages")
        row = page.locator("#my-pages tr", has_text="INC-3")
        expect(row).to_contain_text("paging")
        row.locator("button:has-text('Acknowledge')").click()
        # review #14: acknowledging keeps you on My pages; #12: roles read as words
        expect(page).to_have_url(f"{base}/pages")
        expect(row).to_contain_text("acknowledged by " + engineer)
        expect(row).to_contain_text("on call engineer (step 1)")
        # review #6: a refused acknowledgement shows My pages again, at its own address
        stale.locator("#my-pages button:has-text('Acknowledge')").click()
        expect(stale.get_by_role("alert")).to_be_visible()
        expect(stale).to_have_url(f"{base}/pages")
        stale.close()
        page.goto(f"{base}/incidents/INC-3")
        expect(page.locator("#status")).to_have_text("acknowledged")
        # review #12, #16: the Pages table in words, with its console delivery
        pages_table = page.locator("table.pages")
        expect(pages_table).to_contain_text("on call 1 (on call engineer)")
        expect(pages_table.locator("td.delivery").first).to_contain_text("console")
        for internal in ("owner_role", "owner_person", "first_tier"):
            expect(page.locator("#timeline")).not_to_contain_text(internal)
        expect(page.locator("#incident-head")).not_to_contain_text("_")
        page.click("nav >> text=Messages")
        mine = page.locator("#message-rows")
        expect(mine).to_contain_text("you are paged as on_call_engineer")
        expect(mine.locator("a[href*='/ack/']").first).to_be_visible()
        expect(mine).not_to_contain_text("Decision")  # dinesh's messages are not theirs
        for destination in page.locator("#message-rows td[data-label=To]").all_inner_texts():
            assert engineer in destination or "@" in destination, destination
        page.close()

        # item 8: an hour on, help is paged; it joins as a responder, on call stays in charge
        clock.advance(timedelta(hours=1))
        svc.worker().run_once()
        with svc.db.read() as session:
            helper = session.scalars(
                select(Page.person).where(Page.chain == "bring_in", Page.state == "paging")
            ).one()
        assert helper
        page = sign_in(browser, base, token_for(helper))
        page.goto(f"{base}/incidents/INC-3")
        expect(page.locator("#actions .primary")).to_have_text("Acknowledge and join")
        page.keyboard.press("a")
        expect(page.locator("#responders")).to_contain_text(
            f"{engineer} on call engineer, in charge"
        )
        expect(page.locator("#responders")).to_contain_text(f"{helper} sme, joined")
        expect(page.locator("#owner")).to_have_text(engineer)
        expect(page.locator("#status")).to_have_text("acknowledged")
        page.close()


AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("ESCALATOR_TEST_OUTPUT", "test-output")) / "console"
WIDTHS = (1280, 390)
LONG = "A customer pasted the whole stack trace: " + "x" * 400 + " " + "word " * 200


def _sev1_escalated(svc: Services) -> str:
    """An escalated SEV1 from an alarm with labels and links, on call paged: its key."""
    with svc.unit_of_work("dinesh") as ctx:
        item = opening.open_incident(
            ctx,
            title="Checkout returns 502 for every EU customer",
            source="alarm",
            channel="alertmanager",
            description=LONG,
            details={
                "labels": {"alertname": "CheckoutErrors", "region": "eu-west-1", "team": "pay"},
                "links": [{"url": "https://grafana.example/d/checkout", "text": "Dashboard"}],
                "runbook": "https://runbooks.example/checkout-502",
            },
        )
        key = item.key
        incidents.acknowledge(ctx, key)
        playbooks.conclude(ctx, key, "not_applicable")
        answers = Answers(5000, "key", "blocked", "losing_money", "Ann at ACME", "SEV1")
        assessment.evaluate(ctx, key, answers)  # SEV1: to the Support Manager
        escalation.decide(ctx, key, "on_call", note="SEV1: every EU checkout fails")
    return key


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_fits_at_1280_and_390_and_axe_finds_nothing_serious(
    svc: Services, token_for: Callable[[str], str], browser: Browser, clock: FakeClock
) -> None:
    need(AXE.exists(), f"accessibility checks need axe-core: (cd {AXE.parents[2]} && npm ci)")
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="Coupon totals wrong " + "long-title-" * 12, caller="Ann")
    key = _sev1_escalated(svc)
    with svc.unit_of_work("dinesh") as ctx:
        council.bring(ctx, _sev1_escalated(svc), note="a release went out just before")
    clock.advance(timedelta(minutes=5))
    paths = [
        "/incidents?status=closed",  # review #15: an empty list fits a phone
        "/council",
        "/incidents/INC-3/council",
        "/incidents",
        "/incidents?queue=breaching",
        f"/incidents/{key}",
        f"/incidents/{key}/triage",
        "/incidents/INC-1",
        "/report",
        "/updates",
        "/oncall",
        "/reviews",
        "/reports/weekly",
        "/messages",
        "/integrations",
        "/sessions",
        "/pages",
        "/tickets",
        "/tickets/MCT-2",
    ]
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serving(create_app(svc, run_worker=False)) as base:
        context = browser.new_context()
        context.route("**/__axe.js", lambda route: route.fulfill(path=AXE))
        page = context.new_page()
        page.goto(f"{base}/login")
        page.screenshot(path=str(SHOTS / "login-1280.png"), full_page=True)
        page.fill("#token", token_for("dinesh"))
        page.click("button[type=submit]")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for path in paths:
                page.goto(base + path)
                page.wait_for_selector("#nav-mine")  # the queue counts are in
                if path == f"/incidents/{key}":
                    page.wait_for_selector("#customers h2")
                name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
                page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > width:
                    problems.append(f"{path} is {wide} px wide in a {width} px window")
                page.add_script_tag(url="/__axe.js")
                found = page.evaluate(
                    "async () => (await axe.run(document, {resultTypes: ['violations']}))"
                    ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
                    ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
                )
                problems += [f"{path} at {width} px: {v}" for v in found]
            # review #15: the council's queue reads with its labels on a phone, like My pages
            page.goto(base + "/council")
            cells = page.locator("#council-queue td[data-label]")
            assert cells.count() >= 6
            if width == 390:
                before = cells.nth(2).evaluate("td => getComputedStyle(td, '::before').content")
                assert "Brought by" in before, before
        # review #16: the browser's icon is served, at /favicon.ico too
        for icon in ("/static/favicon.svg", "/favicon.ico"):
            answer = page.request.get(base + icon)
            assert answer.ok and "svg" in answer.headers["content-type"], icon
        expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")
        # item 10: /docs works with no internet (Swagger UI from the package)
        context.route("https://**", lambda route: route.abort())
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info")).to_contain_text("Escalator")
        page.screenshot(path=str(SHOTS / "docs-1280.png"), full_page=False)
        context.close()
    assert not problems, "\n".join(problems)
