"""POST MORTEM in real Chromium: resolve → the post-mortem form → the review page → close; and
the weekly report, in the console and as its standalone file, loading nothing from outside."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from escalator.api.server import create_app
from escalator.app import Services
from escalator.domain.weekly import Week
from escalator.process.alert import opening
from escalator.process.communicate import closing
from escalator.process.core import incidents
from escalator.process.postmortem import report
from escalator.web.weekly import standalone
from tests.e2e.live import serving
from tests.e2e.test_oncall_browser import sign_in
from tests.fakes import FakeClock

SHOTS = Path("/tmp/escalator-postmortem")


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_resolve_write_the_post_mortem_review_and_close(
    pm: Services, token_for: Callable[[str], str], browser: Browser, clock: FakeClock
) -> None:
    worker = pm.worker("w1")
    worker.arm_periodic()  # Monday 2 November: the review is armed for Friday 15:00
    with pm.unit_of_work("santhosh") as ctx:
        key = incidents_report(ctx)
    with serving(create_app(pm, run_worker=False)) as base:
        page = sign_in(browser, base, token_for("dinesh"))
        page.goto(f"{base}/incidents/{key}")
        page.click("button:has-text('Resolve')")
        expect(page.locator("#status")).to_have_text("resolved")
        page.click("a:has-text('Post-mortem')")
        expect(page.locator("h1")).to_contain_text(f"Post-mortem {key}")
        expect(page.locator("#missing")).to_contain_text("root cause")
        form = page.get_by_label(f"Post-mortem of {key}")
        form.locator("select[name=root_cause]").select_option("config_change")
        form.locator("input[name=service]").fill("pricing")
        form.locator("textarea[name=went_well]").fill("found in minutes")
        form.locator("textarea[name=went_badly]").fill("the customer told us first")
        form.locator("button").click()
        expect(page.locator("#missing")).to_have_count(0)
        page.locator("summary:has-text('Add an action item')").click()
        item = page.get_by_label(f"New action item for {key}")
        item.locator("select[name=kind]").select_option("new_metric")
        item.locator("input[name=title]").fill("Count zero prices")
        item.locator("input[name=due]").fill("2026-11-20")
        item.locator("button").click()
        expect(page.get_by_role("alert")).to_contain_text("Owner: every action item needs an owner")
        # the form stays open with what was typed: only the owner is to add
        item = page.get_by_label(f"New action item for {key}")
        expect(item.locator("input[name=title]")).to_have_value("Count zero prices")
        expect(item.locator("input[name=metric]")).to_be_visible()  # a new metric's fields
        expect(item.locator("input[name=alarm]")).to_be_hidden()  # not a threshold's
        item.locator("select[name=owner]").select_option("vijay")
        item.locator("button").click()
        expect(page.get_by_label(f"Action items of {key}")).to_contain_text("Count zero prices")
        shoot(page, "postmortem")
        page.click("button:has-text('Close the incident')")
        expect(page.get_by_role("alert")).to_contain_text("has not been reviewed")

        # Friday 15:00: the review opens with its agenda (the console session has lapsed)
        clock.set(clock.now().replace(day=6, hour=15))
        worker.run_once()
        page = sign_in(browser, base, token_for("dinesh"))
        page.click("nav >> text=Review")
        expect(page.locator("h1")).to_have_text("Weekly review 2026-W45")
        agenda = page.locator(f"#agenda-{key}")
        expect(agenda).to_contain_text("draft")
        shoot(page, "review")
        agenda.locator(f"button:has-text('Mark {key} reviewed')").click()
        expect(page.locator(f"#agenda-{key}")).to_contain_text("reviewed")
        page.locator(f"#agenda-{key}").locator(f"button:has-text('Close {key}')").click()
        # COMMUNICATE's guard too: the caller was never told it was resolved
        expect(page.get_by_role("alert")).to_contain_text("never told it was resolved")
        with pm.unit_of_work("dinesh") as ctx:
            closing.waive(ctx, key, reason="Bob confirmed the fix on the phone")
        page.click("nav >> text=Review")
        page.locator(f"#agenda-{key}").locator(f"button:has-text('Close {key}')").click()
        expect(page.locator("#status")).to_have_text("closed")


def incidents_report(ctx) -> str:  # type: ignore[no-untyped-def]
    return opening.report(ctx, title="Prices show $0 for ACME", channel="phone", caller="Bob").key


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_weekly_report_loads_nothing_from_outside(
    pm: Services,
    token_for: Callable[[str], str],
    browser: Browser,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    with pm.unit_of_work("santhosh") as ctx:
        key = incidents_report(ctx)
        incidents.resolve(ctx, key)
    clock.advance(timedelta(hours=2))
    with serving(create_app(pm, run_worker=False)) as base:
        page = sign_in(browser, base, token_for("dinesh"))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{base}/reports/weekly?week=2026-W45")
        expect(page.locator("h1")).to_have_text("Weekly report 2026-W45")
        expect(page.locator("#chart-severity img")).to_be_visible()
        expect(page.locator("#chart-severity table")).to_contain_text("not triaged")
        expect(page.locator("#punctuality")).to_have_text("0 of 0 on time (—)")
        expect(page.locator("#gaps")).to_contain_text(key)
        shoot(page, "weekly")
        outside = [u for u in requests if not u.startswith((base, "data:"))]
        assert outside == [], outside
        # one click makes the detection gap an action item, owned by who clicked
        page.locator("#gaps button").click()
        expect(page.locator("h1")).to_contain_text(f"Post-mortem {key}")
        expect(page.get_by_label(f"Action items of {key}")).to_contain_text("dinesh")

    with pm.looking("dinesh") as ctx:
        html = standalone(report.weekly(ctx, Week(2026, 45)))
    file = tmp_path / "weekly.html"
    file.write_text(html)
    offline = browser.new_page(viewport={"width": 1280, "height": 900})
    fetched: list[str] = []
    offline.on("request", lambda r: fetched.append(r.url))
    offline.goto(file.as_uri())
    expect(offline.locator("h1")).to_have_text("Escalator weekly report 2026-W45")
    images = offline.locator("img")
    assert images.count() >= 6
    assert all(
        offline.evaluate("(img) => img.naturalWidth > 0", images.nth(i).element_handle())
        for i in range(images.count())
    )
    assert [u for u in fetched if not u.startswith(("file://", "data:"))] == []
    shoot(offline, "weekly-file")
