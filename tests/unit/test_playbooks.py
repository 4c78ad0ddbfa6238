from __future__ import annotations

from pathlib import Path

import pytest

from escalator.config.playbook_loader import PlaybookError, load_playbooks, parse_entry
from escalator.config.process_loader import ProcessFileError, load_process
from escalator.domain.playbook import Facts, matching

ENTRIES = load_process().playbooks


def ids(facts: Facts) -> list[str]:
    return [m.entry.id for m in matching(ENTRIES, facts)]


def test_the_sample_play_book_loads() -> None:
    assert {e.id for e in ENTRIES} == {
        "bulk-import",
        "price-sync-lag",
        "quote-api-errors",
        "zero-prices",
    }
    assert all(e.steps for e in ENTRIES)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            Facts(
                "Price sync lag 12m",
                "",
                "alarm",
                "alertmanager",
                "pricing",
                {"alertname": "PriceSyncLag"},
            ),
            ["price-sync-lag"],
        ),
        (
            Facts(
                "Price sync lag",
                "",
                "alarm",
                "alertmanager",
                "checkout",
                {"alertname": "PriceSyncLag"},
            ),
            [],
        ),
        (Facts("Prices show $0 on our storefront", "", "customer", "email"), ["zero-prices"]),
        (Facts("Prices show $0", "", "alarm", "generic"), []),  # zero-prices is for customers
        (Facts("CSV import stops", "row 1000", "customer", "forum"), ["bulk-import"]),
        (Facts("Important notice", "", "customer", "email"), []),  # "import" is a whole word
    ],
)
def test_matching(facts: Facts, expected: list[str]) -> None:
    assert ids(facts) == expected


def test_a_match_says_why() -> None:
    [m] = matching(
        ENTRIES, Facts("lag", "", "alarm", "alertmanager", "pricing", {"alertname": "PriceSyncLag"})
    )
    assert m.because == ("alert PriceSyncLag", "service pricing")


def test_bad_entries_are_named_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("no front matter")
    (tmp_path / "b.md").write_text("---\nid: b\ntitle: B\nmatch: {colour: red}\n---\n- [ ] x\n")
    (tmp_path / "c.md").write_text(
        "---\nid: c\ntitle: C\nmatch: {alerts: [X]}\n---\nno steps here\n"
    )
    with pytest.raises(PlaybookError) as err:
        load_playbooks(tmp_path)
    text = str(err.value)
    assert f"{tmp_path}/a.md:1: start with front matter" in text
    assert "match.colour" in text and "no steps" in text


def test_a_process_file_naming_a_missing_directory_is_refused(tmp_path: Path) -> None:
    process = (Path(__file__).parents[2] / "escalator/defaults/default-process.yaml").read_text()
    (tmp_path / "p.yaml").write_text(process.replace("directory: playbooks", "directory: nowhere"))
    with pytest.raises(ProcessFileError, match=r"no playbook directory .*nowhere.*cp -r"):
        load_process(tmp_path / "p.yaml")


def test_parse_entry_reads_steps_and_links() -> None:
    entry = parse_entry(
        "---\nid: x\ntitle: X\nmatch: {keywords: [refund]}\nlinks: [{title: Doc, url: 'https://d'}]\n---\nNotes.\n- [ ] one\n- [x] two\n",
        "x.md",
    )
    assert (
        entry.steps == ("one", "two")
        and entry.links == (("Doc", "https://d"),)
        and entry.body == "Notes."
    )
