"""The post-mortem pages in the console: the forms offered only to whom may use them, a
refused save that keeps what was typed, the action item form by kind with its errors in words,
and the weekly review a manager opens now (review issues 5, 7, 8)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import incidents
from tests.fakes import FakeClock


def resolved(svc: Services) -> str:
    """santhosh takes a phoned-in report and resolves it: the post-mortem is his to write."""
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="Prices show $0", caller="Bob").key
    with svc.unit_of_work("santhosh") as ctx:
        incidents.resolve(ctx, key)
    return key


def test_the_post_mortem_form_is_offered_to_its_writers_and_keeps_a_refused_save(
    svc: Services, console: Callable[[str], TestClient]
) -> None:
    key = resolved(svc)
    page = f"/incidents/{key}/postmortem"
    shown = console("michael").get(page).text
    assert "Save the post-mortem" not in shown and "read-only" in shown
    assert "Add an action item" not in shown and "Mark reviewed" not in shown
    santhosh = console("santhosh")
    assert "Save the post-mortem" in santhosh.get(page).text

    refused = santhosh.post(
        page, data={"root_cause": "gremlins", "went_well": "found in minutes", "back": page}
    )
    assert refused.status_code == 422 and "unknown root cause" in refused.text
    assert ">found in minutes</textarea>" in refused.text, "what was typed is kept"


def test_the_action_item_form_shows_each_kinds_fields_and_errors_in_words(
    svc: Services, console: Callable[[str], TestClient], clock: FakeClock
) -> None:
    key = resolved(svc)
    santhosh = console("santhosh")
    page = santhosh.get(f"/incidents/{key}/postmortem").text
    threshold = re.search(r'kind-alarm_threshold"><legend>(.*?)</fieldset>', page, re.S)
    assert threshold and "For an alarm threshold" in threshold.group(1)
    for label in ("Alarm (needed)", "Direction (needed)", "Threshold from", "Threshold to"):
        assert label in threshold.group(1)

    due = (clock.now() + timedelta(days=7)).date().isoformat()
    refused = santhosh.post(
        f"/incidents/{key}/action-items",
        data={
            "kind": "alarm_threshold",
            "title": "Raise the zero-price alarm",
            "owner": "santhosh",
            "due": due,
            "from": "5",
            "metric": "typed for another kind",
            "back": f"/incidents/{key}/postmortem",
        },
    )
    assert refused.status_code == 422
    assert "Alarm: alarm threshold items need the alarm&#39;s name" in refused.text
    assert "Direction: alarm threshold items need the direction" in refused.text
    assert "details." not in refused.text and "alarm_threshold items" not in refused.text
    assert '<details class="add-item" open>' in refused.text, "the form stays open"
    assert 'value="Raise the zero-price alarm"' in refused.text
    assert '<option value="alarm_threshold" selected>' in refused.text
    assert f'value="{due}"' in refused.text and 'name="from" value="5"' in refused.text


def test_a_manager_opens_the_weekly_review_now_once_per_week(
    svc: Services, console: Callable[[str], TestClient], auth: Callable[[str], dict[str, str]]
) -> None:
    key = resolved(svc)
    dinesh = console("dinesh")
    assert "Open the review now" in dinesh.get("/reviews").text
    assert "Open the review now" not in console("michael").get("/reviews").text
    refused = console("michael").post("/reviews")
    assert refused.status_code == 403 and "may not mark post-mortems reviewed" in refused.text

    opened = dinesh.post("/reviews", follow_redirects=False)
    assert opened.status_code == 303
    again = dinesh.post("/reviews", follow_redirects=False)
    assert again.headers["location"] == opened.headers["location"], "one review per week"
    agenda = dinesh.get(opened.headers["location"]).text
    assert f'id="agenda-{key}"' in agenda and f"Mark {key} reviewed" in agenda

    closing = dinesh.post(f"/api/v1/incidents/{key}/close", headers=auth("dinesh"))
    detail = closing.json()["detail"]
    assert f"complete it on {key}'s post-mortem page, where a manager marks it reviewed" in detail
    assert f"from {key}'s Customers panel" in detail and "escalator update" in detail


def test_the_weekly_reports_median_times_name_no_unit_its_table_does_not_use(
    svc: Services, console: Callable[[str], TestClient]
) -> None:
    resolved(svc)
    shown = console("dinesh").get("/reports/weekly").text
    assert "<figcaption>Median times</figcaption>" in shown
    assert "Median times (minutes)" not in shown, "the table shows 11s, 3m: not minutes"
