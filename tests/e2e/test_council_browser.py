"""REMEDIATE in real Chromium: a council member opens the council's queue, the decision page
(what changed before it, the rollback form pre-filled from it), decides, and the decision is
in the history on the incident's page."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from escalator.api.server import create_app
from escalator.app import Services
from escalator.integrations.inbound.changes import ChangeIn
from escalator.process.alert import opening
from escalator.process.remediate import changes, council
from tests.e2e.live import serving
from tests.e2e.test_oncall_browser import sign_in
from tests.fakes import FakeClock


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_council_queue_decision_form_and_history(
    svc: Services, token_for: Callable[[str], str], browser: Browser, clock: FakeClock
) -> None:
    with svc.unit_of_work("integration:unleash") as ctx:
        changes.store(
            ctx,
            ChangeIn(
                summary="flag new-checkout enabled in production (payments) by dev@example.com",
                at=None,
                service="checkout",
                source="unleash",
                details={
                    "flag": "new-checkout",
                    "project": "payments",
                    "environment": "production",
                    "enabled": True,
                },
            ),
        )
    clock.advance(timedelta(minutes=45))
    with svc.unit_of_work("dinesh") as ctx:
        key = opening.open_incident(
            ctx,
            title="Checkout fails <script>",
            source="alarm",
            channel="manual",
            details={"service": "checkout"},
        ).key
    with svc.unit_of_work("dinesh") as ctx:
        council.bring(ctx, key, note="errors since the flag")

    with serving(create_app(svc, run_worker=False)) as base:
        page = sign_in(browser, base, token_for("jonathan"))
        page.click("nav >> text=Council")
        expect(page.locator("h1")).to_have_text("Engineering Council")
        row = page.locator("#council-queue tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Checkout fails <script>")  # text, not markup
        row.get_by_role("link", name="Decide").click()

        expect(page.locator("#changed-before")).to_contain_text("45m before")
        form = page.locator("#form-rollback_flag")
        expect(form.locator("input[name=flag]")).to_have_value("new-checkout")
        expect(form.locator("input[name=environment]")).to_have_value("production")
        form.locator("textarea[name=reasons]").fill("errors began when the flag went on")
        if os.environ.get("ESCALATOR_SCREENSHOTS"):
            page.screenshot(
                path=os.environ["ESCALATOR_SCREENSHOTS"] + "/council-form.png", full_page=True
            )
        form.locator("#decide-rollback_flag").click()
        entry = page.locator("#decision-history .decision-entry")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text("roll back flag new-checkout in production")
        expect(entry).to_contain_text("awaiting approval")
        expect(entry).to_contain_text("2 more approvals needed")

        # deciding again without superseding is shown, not lost
        gather = page.locator("#form-gather_info")
        gather.locator("input[name=question]").fill("Which accounts?")
        gather.locator("textarea[name=reasons]").fill("need facts")
        gather.locator("#decide-gather_info").click()
        expect(page.locator("#decision-history .decision-entry")).to_have_count(2)
        expect(page.locator("#decision-1")).to_contain_text("superseded")

        page.goto(f"{base}/incidents/{key}")
        history = page.locator("#council-panel #decision-history")
        expect(history).to_contain_text("ask second tier: Which accounts?")
        expect(history).to_contain_text("roll back flag new-checkout")
        if os.environ.get("ESCALATOR_SCREENSHOTS"):
            page.screenshot(
                path=os.environ["ESCALATOR_SCREENSHOTS"] + "/council-incident.png", full_page=True
            )
