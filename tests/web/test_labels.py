"""The console's filters: internal ids as people read them (issue #12), one date format (#13)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalator.web.routes import label, templates


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("playbook_attached", "playbook attached"),
        ("first_tier", "first tier"),
        ("engineering_council", "engineering council"),
        ("on_call_engineer.backup", "on call engineer (backup)"),
        ("michael", "michael"),
        (None, "—"),
        ("", "—"),
        ("SEV1", "SEV1"),  # not an identifier: as it is
        ("Ann at ACME_corp", "Ann at ACME_corp"),  # free text keeps its underscores
    ],
)
def test_label_reads_internal_ids_as_words(value: str | None, said: str) -> None:
    assert label(value) == said


def test_the_filters_are_registered_and_stamp_is_one_format() -> None:
    env = templates.env
    assert env.from_string("{{ 'owner_role' | label }}").render() == "owner role"
    chain = ["on_call_engineer", "on_call_engineer.backup"]
    out = env.from_string("{{ c | map('label') | join(' → ') }}").render(c=chain)
    assert out == "on call engineer → on call engineer (backup)"
    at = datetime(2026, 11, 28, 5, 5, 57, tzinfo=UTC)
    html = env.from_string("{{ t | stamp }}").render(t=at)
    assert html.startswith('<time datetime="2026-11-28T05:05:57+00:00"')
    assert ">28 Nov 05:05</time>" in html
