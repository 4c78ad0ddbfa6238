"""The post mortem's pure rules: action items by kind, their states, due dates, reminders,
and what a post-mortem needs before it is reviewed."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.postmortem import (
    ItemSpec,
    Retrospective,
    item_problems,
    missing,
    next_reminder,
    parse_due,
    slug,
    state_problems,
)

NOW = datetime(2026, 11, 6, 15, tzinfo=UTC)
DUE = datetime(2026, 11, 13, 17, tzinfo=UTC)
PEOPLE = ["dinesh", "raja", "vijay"]


def fields(spec: ItemSpec) -> list[str]:
    return [field for field, _ in item_problems(spec, people=PEOPLE, now=NOW)]


@pytest.mark.parametrize(
    ("spec", "wrong"),
    [
        (ItemSpec("new_metric", "Queue depth metric", "vijay", DUE), []),
        (ItemSpec("new_metric", "Queue depth", "vijay", DUE, {"metric": "sync_queue_depth"}), []),
        (ItemSpec("docs_update", "Runbook", "raja", DUE, {"url": "https://wiki/x"}), []),
        (ItemSpec("playbook_entry", "Restart price sync", "dinesh", DUE), []),
        (ItemSpec("other", "Talk to the vendor", "raja", DUE), []),
        (ItemSpec("reboot", "Reboot", "raja", DUE), ["kind"]),
        (ItemSpec("other", "  ", "raja", DUE), ["title"]),
        (ItemSpec("other", "Vendor", None, DUE), ["owner"]),
        (ItemSpec("other", "Vendor", "bob", DUE), ["owner"]),
        (ItemSpec("other", "Vendor", "raja", None), ["due"]),
        (ItemSpec("other", "Vendor", "raja", NOW - timedelta(days=1)), ["due"]),
        (ItemSpec("other", "Vendor", None, None), ["owner", "due"]),
        (ItemSpec("docs_update", "Runbook", "raja", DUE, {"colour": "red"}), ["details.colour"]),
    ],
)
def test_an_action_item_needs_a_kind_title_owner_and_due_date(
    spec: ItemSpec, wrong: list[str]
) -> None:
    assert fields(spec) == wrong


@pytest.mark.parametrize(
    ("details", "wrong"),
    [
        ({"alarm": "PriceSyncLag", "direction": "up", "from": "10m", "to": "20m"}, []),
        ({"alarm": "PriceSyncLag", "direction": "up", "from": "600", "to": "1200"}, []),
        ({"alarm": "PriceSyncLag", "direction": "down", "from": "5%", "to": "2%"}, []),
        ({"alarm": "PriceSyncLag", "direction": "up"}, []),  # numbers decided later
        (
            {"alarm": "PriceSyncLag", "direction": "up", "from": "600", "to": "300"},
            ["details.direction"],
        ),
        (
            {"alarm": "PriceSyncLag", "direction": "down", "from": "1", "to": "2"},
            ["details.direction"],
        ),
        ({"alarm": "PriceSyncLag", "direction": "up", "from": "3", "to": "3"}, ["details.to"]),
        ({"alarm": "PriceSyncLag", "direction": "sideways"}, ["details.direction"]),
        ({"direction": "up"}, ["details.alarm"]),
        ({"alarm": "PriceSyncLag"}, ["details.direction"]),
    ],
)
def test_an_alarm_threshold_says_which_alarm_and_which_way(
    details: dict[str, str], wrong: list[str]
) -> None:
    assert fields(ItemSpec("alarm_threshold", "Threshold", "vijay", DUE, details)) == wrong


@pytest.mark.parametrize(
    ("state", "to", "reason", "wrong"),
    [
        ("open", "done", "", []),
        ("open", "wont_do", "the alarm is retired", []),
        ("open", "wont_do", " ", ["reason"]),
        ("done", "open", "", []),
        ("done", "done", "", ["state"]),
        ("open", "finished", "", ["state"]),
    ],
)
def test_an_item_moves_between_open_done_and_wont_do(
    state: str, to: str, reason: str, wrong: list[str]
) -> None:
    assert [f for f, _ in state_problems(state, to, reason)] == wrong


def test_a_due_date_alone_means_the_end_of_that_working_day() -> None:
    assert parse_due("2026-11-13") == datetime(2026, 11, 13, 17, tzinfo=UTC)
    assert parse_due("2026-11-13", "Asia/Kolkata") == datetime(2026, 11, 13, 11, 30, tzinfo=UTC)
    assert parse_due("2026-11-13T09:00") == datetime(2026, 11, 13, 9, tzinfo=UTC)
    assert parse_due("2026-11-13T09:00+02:00") == datetime(2026, 11, 13, 7, tzinfo=UTC)
    with pytest.raises(ValueError, match="write it like 2026-12-04"):
        parse_due("next friday")


@given(st.dates(min_value=datetime(2000, 1, 1).date(), max_value=datetime(2100, 1, 1).date()))
def test_a_due_date_reads_back_as_that_day(day: object) -> None:
    assert parse_due(str(day)).date() == day


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (NOW, DUE - timedelta(days=1)),  # a day before
        (DUE - timedelta(days=1), DUE),  # at the due date
        (DUE, DUE + timedelta(days=1)),  # then daily
        (DUE + timedelta(days=3, hours=2), DUE + timedelta(days=4)),
    ],
)
def test_reminders_come_before_at_and_after_the_due_date(
    after: datetime, expected: datetime
) -> None:
    assert next_reminder(DUE, after, before=timedelta(days=1), every=timedelta(days=1)) == expected


@given(
    st.integers(min_value=-(10**7), max_value=10**7),
    st.integers(min_value=60, max_value=10**6),
    st.integers(min_value=3600, max_value=10**6),
)
def test_the_next_reminder_is_always_later_and_never_skips_the_due_date(
    offset: int, before: int, every: int
) -> None:
    after = DUE + timedelta(seconds=offset)
    at = next_reminder(DUE, after, before=timedelta(seconds=before), every=timedelta(seconds=every))
    assert at > after
    if after < DUE:
        assert at <= DUE
    else:
        assert at - after <= timedelta(seconds=every)
        assert (at - DUE) % timedelta(seconds=every) == timedelta(0)


def test_a_post_mortem_is_complete_with_its_four_parts() -> None:
    done = Retrospective("load", "paged fast", "no alarm on the queue", "alarm")
    assert missing(done) == []
    assert missing(Retrospective(None, "", " ", None)) == [
        "root cause",
        "how it was detected",
        "what went well",
        "what didn't go well",
    ]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Restart the price-sync workers", "restart-the-price-sync-workers"),
        ("  $0 prices! ", "0-prices"),
        ("???", "entry"),
    ],
)
def test_entry_ids_come_from_titles(title: str, expected: str) -> None:
    assert slug(title) == expected
