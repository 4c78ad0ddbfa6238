"""The hardened console in real Chromium: outside text that tries to be markup stays text, no
dialog fires, the live refresh runs under the Content-Security-Policy without one violation,
the cookie is HttpOnly and SameSite=Strict, and revoking the session signs the browser out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from escalator.api.server import create_app
from escalator.app import Services
from tests.e2e.live import serving
from tests.web.hostile import ALARM_TITLE, EMAIL_SUBJECT, open_hostile_incidents

SHOTS = Path("/tmp")
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def watched(browser: Browser) -> tuple[Page, list[str], list[str]]:
    """A 1280 px page, the console messages it logs and the dialogs it opens (dismissed)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    logged: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda message: logged.append(f"{message.type}: {message.text}"))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH_CSP)
    return page, logged, dialogs


def one_live_refresh(page: Page) -> None:
    with page.expect_response(
        lambda r: r.request.headers.get("hx-request") == "true" and r.status == 200,
        timeout=10_000,
    ):
        pass


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_text_stays_text_and_the_policy_holds_through_live_refresh(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    santhosh = token_for("santhosh")
    with serving(create_app(svc, run_worker=False)) as base:
        open_hostile_incidents(svc, httpx.Client(base_url=base))
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {santhosh}"})
        page, logged, dialogs = watched(browser)
        page.goto(f"{base}/login")
        page.fill("#token", santhosh)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/incidents")
        [cookie] = page.context.cookies()
        assert cookie["name"] == "escalator_session" and cookie["value"] != santhosh
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == "", "scripts cannot read it"

        rows = page.locator("#incident-rows")
        expect(rows.get_by_text(ALARM_TITLE, exact=True)).to_be_visible()
        expect(rows.get_by_text(EMAIL_SUBJECT, exact=True)).to_be_visible()
        created = api.post("/api/v1/incidents", json={"title": "Added <u>elsewhere</u>"})
        assert created.status_code == 201
        expect(rows.get_by_text("Added <u>elsewhere</u>")).to_be_visible(timeout=10_000)
        page.screenshot(path=SHOTS / "console-incidents.png", full_page=True)
        page.select_option("select[name=status]", "open")  # console.js submits the filter
        expect(page).to_have_url(f"{base}/incidents?status=open")

        page.goto(f"{base}/incidents/INC-1")
        expect(page.locator("h1")).to_have_text(f"INC-1 {ALARM_TITLE}")
        one_live_refresh(page)
        expect(page.locator("#timeline")).to_contain_text("opened")
        page.screenshot(path=SHOTS / "console-incident-alarm.png", full_page=True)
        page.goto(f"{base}/incidents/INC-2")
        expect(page.locator("h1")).to_have_text(f"INC-2 {EMAIL_SUBJECT}")
        page.screenshot(path=SHOTS / "console-incident-email.png", full_page=True)
        page.goto(f"{base}/messages")
        expect(page.locator("#message-rows")).to_contain_text(f"New alarm incident: {ALARM_TITLE}")
        expect(page.locator("#message-rows")).to_contain_text(EMAIL_SUBJECT)
        one_live_refresh(page)
        page.screenshot(path=SHOTS / "console-messages.png", full_page=True)
        for key, title in (("INC-1", ALARM_TITLE), ("INC-2", EMAIL_SUBJECT)):
            page.goto(f"{base}/incidents/{key}/triage")
            expect(page.locator("h1")).to_have_text(f"{key} {title}")
            expect(page.locator("#report-what")).to_have_value(title)
        page.screenshot(path=SHOTS / "console-triage.png", full_page=True)
        for path in ("/oncall", "/integrations", "/report", "/sessions"):  # the other pages
            page.goto(f"{base}{path}")
            expect(page.locator("h1")).to_be_visible()
        page.screenshot(path=SHOTS / "console-sessions-own.png", full_page=True)

        assert dialogs == [], "outside text ran as script"
        assert page.evaluate("window.__csp") == []
        violations = [m for m in logged if "Content Security Policy" in m or "Refused" in m]
        assert violations == []
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_revoking_a_session_signs_that_browser_out(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    noah = token_for("noah")
    with serving(create_app(svc, run_worker=False)) as base:
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {noah}"})
        laptop, phone = (
            browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)
        )
        on_laptop, on_phone = laptop.new_page(), phone.new_page()
        for page in (on_laptop, on_phone):  # two browsers, each with its own cookie
            page.goto(f"{base}/login")
            page.fill("#token", noah)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/incidents")
        [phone_session, laptop_session] = api.get("/api/v1/sessions").json()
        assert [phone_session["id"], laptop_session["id"]] == [2, 1]

        on_phone.goto(f"{base}/sessions")
        expect(on_phone.locator("#session-2")).to_contain_text("(this browser)")
        on_phone.screenshot(path=SHOTS / "console-sessions.png", full_page=True)
        on_phone.locator("#session-1 button:has-text('Revoke')").click()
        expect(on_phone.locator("#session-1")).to_contain_text("revoked")
        # the laptop's open incident list notices at its next live refresh, without a click
        expect(on_laptop).to_have_url(f"{base}/login", timeout=10_000)
        on_laptop.screenshot(path=SHOTS / "console-signed-out.png")

        on_phone.locator("#session-2 button:has-text('Sign out')").click()
        expect(on_phone).to_have_url(f"{base}/login")
        on_phone.goto(f"{base}/incidents")
        expect(on_phone).to_have_url(f"{base}/login")
        assert [s["state"] for s in api.get("/api/v1/sessions").json()] == ["revoked", "revoked"]
        laptop.close()
        phone.close()
