"""The console in real Chromium: sign in, open an incident reported via the API, watch its
timeline, act on it, and see a change made elsewhere appear without reloading."""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, expect

from escalator.api.server import create_app
from escalator.app import Services
from escalator.engine.senders import ConsoleSender, PermanentFailure
from escalator.process.alert import opening
from tests.e2e.live import serving


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sign_in_open_an_incident_and_follow_its_timeline(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    santhosh, dinesh = token_for("santhosh"), token_for("dinesh")
    with serving(create_app(svc, run_worker=False)) as base:
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {dinesh}"})
        created = api.post(
            "/api/v1/incidents", json={"title": "Pricing page 500s", "caller": "Ann"}
        )
        assert created.status_code == 201

        page = browser.new_page()
        page.goto(f"{base}/incidents")
        expect(page).to_have_url(f"{base}/login")
        page.fill("#token", "esc_wrong")
        page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")

        page.fill("#token", santhosh)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/incidents")
        expect(page.locator("header")).to_contain_text("Signed in as santhosh")
        page.click("text=INC-1")
        expect(page.locator("h1")).to_contain_text("Pricing page 500s")
        timeline = page.locator("#timeline")
        expect(timeline).to_contain_text("dinesh opened")
        expect(page.locator("#clocks")).to_contain_text("Triage due in 30 min")

        page.click("button:has-text('Acknowledge')")
        expect(page.locator("#status")).to_have_text("acknowledged")
        expect(timeline).to_contain_text("santhosh acknowledge: status open → acknowledged")

        assert (
            api.post("/api/v1/incidents/INC-1/resolve", json={"note": "rolled back"}).status_code
            == 200
        )
        expect(timeline).to_contain_text(
            "dinesh resolve: status acknowledged → resolved", timeout=10_000
        )
        expect(timeline).to_contain_text("rolled back")

        # the header and its actions follow the change made elsewhere: no Resolve any more
        expect(page.locator("#status")).to_have_text("resolved")
        expect(page.locator("#actions button:has-text('Resolve')")).to_have_count(0)
        expect(page.locator("#actions button:has-text('Reopen')")).to_be_visible()
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_integrations_and_dead_letters_in_the_console(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    class Refusing:
        def send(self, message: object) -> None:
            raise PermanentFailure("channel_not_found")

    svc.senders["console"] = Refusing()  # type: ignore[assignment]
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="Coupon totals wrong")
    svc.worker().run_once()
    svc.senders["console"] = ConsoleSender()
    with serving(create_app(svc, run_worker=False)) as base:
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("#token", token_for("dinesh"))
        page.click("button[type=submit]")
        page.click("text=Integrations")
        page.fill("#name", "prod-alertmanager")
        page.click("button:has-text('Create')")
        url = page.locator("#intake-url").inner_text()
        assert url.startswith(f"{base}/api/v1/intake/alertmanager?token=esi_")
        secret = url.split("token=")[1]
        ok = httpx.post(url, json={"alerts": [{"labels": {"alertname": "x"}}]})
        assert ok.status_code == 202
        page.click("summary:has-text('Revoke')")  # item 11: a revoke asks first
        expect(page.locator("table")).to_contain_text("live")
        page.click("button:has-text('Yes, revoke prod-alertmanager')")
        expect(page.locator("table")).to_contain_text("revoked")
        assert (
            httpx.post(
                f"{base}/api/v1/intake/alertmanager?token={secret}", json={"alerts": []}
            ).status_code
            == 401
        )

        page.goto(f"{base}/messages?state=dead")
        rows = page.locator("#message-rows tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("channel_not_found")
        rows.first.locator("button:has-text('Retry')").click()
        page.goto(f"{base}/messages?state=dead")
        expect(page.locator("#message-rows tr")).to_have_count(1)
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_triage_form_walks_the_checklist_to_the_support_manager(
    svc: Services, token_for: Callable[[str], str], browser: Browser
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(
            ctx, title="Storefront shows $0 for every product", caller="Bob", account="acme"
        )
    with serving(create_app(svc, run_worker=False)) as base:
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("#token", token_for("santhosh"))
        page.click("button[type=submit]")
        page.goto(f"{base}/incidents/INC-1")
        page.click("text=Triage checklist")
        expect(page.locator("#triage-clock")).to_contain_text("Triage due")
        expect(page.locator("#ticket")).to_contain_text("MCT-1")
        expect(page.locator("#playbook-zero-prices")).to_contain_text(
            "Storefront shows $0 or blank prices"
        )

        page.fill("#report-who", "ACME shoppers in the EU store")
        page.fill("#report-where", "eu.acme.example storefront")
        page.click("button:has-text('Save report')")
        expect(page.locator("#report-who")).to_have_value("ACME shoppers in the EU store")

        page.locator("#playbook-zero-prices button:has-text('Done')").first.click()
        expect(page.locator("#playbook-zero-prices li.done")).to_have_count(1)
        page.click("button:has-text('Playbook failed')")
        expect(page.locator("#playbook-zero-prices")).to_contain_text("Outcome: failed")

        page.fill("#users_affected", "300")
        page.select_option("#user_impact", "blocked")
        page.select_option("#business_impact", "losing_money")
        page.fill("#stakeholder", "Bob at ACME")
        page.click("button:has-text('Assess severity')")
        expect(page.locator("#verdict")).to_contain_text("SEV1: blocked + key account")
        expect(page.locator("#triage-clock")).to_contain_text("dinesh")
        expect(page.locator("#triage-clock")).to_contain_text("(support manager)")
        page.goto(f"{base}/incidents/INC-1")
        expect(page.locator("#timeline")).to_contain_text(
            "SEV1 meets the escalation threshold SEV2"
        )
        page.close()
