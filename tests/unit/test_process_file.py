from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from escalator.config.process_loader import (
    ProcessFileError,
    default_process_text,
    load_process,
    parse_process,
)
from escalator.domain.roles import ROLES


def test_the_default_process_encodes_the_seed() -> None:
    process = load_process()
    spec = process.spec
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert process.holders_at("first_tier", now) == ["santhosh", "dinesh"]
    assert process.holders_at("support_manager", now) == ["dinesh"]
    assert process.holders_at("second_tier", now) == ["noah"]
    assert process.holders_at("engineering_manager", now) == ["raja"]
    assert process.holders_at("engineering_council", now) == [
        "jonathan",
        "raja",
        "vijay",
        "michael",
    ]
    for rotating in ("on_call_engineer", "sme"):
        role = spec.roles[rotating]
        assert role.rotation and spec.rotations[role.rotation].filled_by == "engineering_manager"
        assert len(process.holders_at(rotating, now)) == 1
    assert spec.clocks.triage == timedelta(minutes=30)
    assert spec.clocks.low_severity_resolution == timedelta(days=1)
    assert spec.clocks.high_severity_resolution == timedelta(hours=4)
    assert spec.clocks.on_call_escalate_after == timedelta(hours=1)
    assert set(spec.roles) == set(ROLES)
    assert process.roles_of("dinesh") == {"first_tier", "support_manager"}


THREE_MISTAKES = """\
version: 1
name: Three mistakes
people:
  raja: {name: Raja, email: raja@example.com}
roles:
  first_tier: {holders: [raja]}
  support_manager: {holders: [raja], colour: blue}
  second_tier: {holders: [raja]}
  engineering_manager: {holders: [raja]}
  engineering_council: {holders: [raja, bob]}
  on_call_engineer: {holders: [raja]}
  sme: {holders: [raja]}
clocks:
  triage: half an hour
"""


def test_check_names_all_three_mistakes_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "process.yaml"
    path.write_text(THREE_MISTAKES)
    with pytest.raises(ProcessFileError) as err:
        load_process(path)
    found = [(p.line, p.path) for p in err.value.problems]
    assert found == [
        (7, "roles.support_manager.colour"),
        (10, "roles.engineering_council.holders[1]"),
        (14, "clocks.triage"),
    ]
    text = str(err.value)
    assert f"{path}:7: roles.support_manager.colour: unknown key 'colour'" in text
    assert "'bob' is not a person: define it under people" in text
    assert "like 90s, 30m, 4h, 1d" in text


def test_a_role_nobody_holds_and_a_missing_role_are_named() -> None:
    text = THREE_MISTAKES.replace("  sme: {holders: [raja]}\n", "").replace(
        "on_call_engineer: {holders: [raja]}", "on_call_engineer: {}"
    )
    with pytest.raises(ProcessFileError) as err:
        parse_process(text)
    messages = str(err.value)
    assert "nobody holds role on_call_engineer" in messages
    assert "role sme is missing" in messages


def test_duplicate_keys_are_mistakes_not_silent_overwrites() -> None:
    text = default_process_text().replace("clocks:\n", "clocks:\n  triage: 5m\n", 1)
    with pytest.raises(ProcessFileError, match="'triage' is written twice"):
        parse_process(text)


def test_yaml_syntax_errors_point_at_the_line() -> None:
    with pytest.raises(ProcessFileError) as err:
        parse_process("version: 1\nname: [unclosed\npeople: {}\n", filename="p.yaml")
    assert err.value.problems[0].line >= 2
    assert "not valid YAML" in str(err.value)


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProcessFileError, match="cannot read the file"):
        load_process(tmp_path / "nope.yaml")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
@example("!0")  # an unknown YAML tag: composes, then fails to construct
def test_any_text_loads_or_raises_a_process_file_error(text: str) -> None:
    try:
        parse_process(text)
    except ProcessFileError as err:
        assert err.problems


mutations = st.sampled_from(
    [
        ("people", None),
        ("roles", {"first_tier": "nobody"}),
        ("clocks", {"triage": 30}),
        ("rotations", {"on_call": {"members": []}}),
        ("severity", {"rules": [{"severity": "SEV9", "when": {}}]}),
        ("version", 2),
        ("escalation", []),
    ]
)


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutations, min_size=1, max_size=3, unique_by=lambda m: m[0]))
def test_broken_sections_are_reported_never_crash(changes: list[tuple[str, object]]) -> None:
    data = yaml.safe_load(default_process_text())
    for key, value in changes:
        data[key] = value
    with pytest.raises(ProcessFileError) as err:
        parse_process(yaml.safe_dump(data))
    assert all(p.line >= 1 for p in err.value.problems)


def test_intake_rate_limits_default_and_take_overrides_by_integration_name() -> None:
    limits = load_process().spec.intake.rate_limit
    assert (limits.per_second, limits.burst, limits.integrations) == (50.0, 200, {})
    text = default_process_text().replace(
        "    integrations: {}",
        "    integrations: {big-prometheus: {burst: 1000}, slow-script: {per_second: 0.5}}",
    )
    assert text != default_process_text()
    limits = parse_process(text).spec.intake.rate_limit
    big, slow, other = (
        limits.for_integration(name) for name in ("big-prometheus", "slow-script", "other")
    )
    assert (big.per_second, big.burst) == (50.0, 1000), "what an override leaves out is general"
    assert (slow.per_second, slow.burst) == (0.5, 200)
    assert (other.per_second, other.burst) == (50.0, 200)


def test_bad_intake_rate_limits_are_named_with_their_lines() -> None:
    text = default_process_text()
    start = text.splitlines().index("  rate_limit:") + 1  # its first line, 1-based
    bad = text.replace("    per_second: 50\n", "    per_second: -5\n").replace(
        "    burst: 200\n", "    burst: 0.5\n"
    )
    bad = bad.replace("    integrations: {}", "    integrations: {x: {burst: 0, speed: 9}}")
    with pytest.raises(ProcessFileError) as err:
        parse_process(bad, filename="p.yaml")
    found = {(p.line, p.path) for p in err.value.problems}
    assert found == {
        (start + 1, "intake.rate_limit.per_second"),
        (start + 2, "intake.rate_limit.burst"),
        (start + 3, "intake.rate_limit.integrations.x.burst"),
        (start + 3, "intake.rate_limit.integrations.x.speed"),
    }
    message = str(err.value)
    assert (
        f"p.yaml:{start + 1}: intake.rate_limit.per_second: per_second -5 is not a rate" in message
    )
    assert "a number above 0 like 50" in message and "a whole number of at least 1" in message


def test_the_default_communication_cadence_encodes_the_seed() -> None:
    communication = load_process().spec.communication
    assert communication.by_role == "second_tier"
    assert communication.cadence == {
        "SEV1": timedelta(hours=1),
        "SEV2": timedelta(hours=2),
        "SEV3": timedelta(hours=4),
        "SEV4": timedelta(days=1),
    }
    assert communication.reminder_before == timedelta(minutes=10)
    assert communication.working_hours is None and communication.untriaged == timedelta(hours=1)


def test_bad_communication_settings_are_named_with_their_lines() -> None:
    text = default_process_text()
    line = text.splitlines().index("communication:") + 1
    bad = text.replace(
        "  cadence: {SEV1: 1h, SEV2: 2h, SEV3: 4h, SEV4: 1d}\n", "  cadence: {SEV1: 1h}\n"
    ).replace(
        "  # working_hours: {timezone: Europe/London, days: [mon, tue, wed, thu, fri], "
        'start: "09:00", end: "17:00"}',
        '  working_hours: {timezone: Europe/London, days: [mon], start: "09:00", end: 18:00}',
    )
    bad = bad.replace(
        "  acme: {name: ACME Corp, tier: key, domains: [acme.com], forum_users: [acme_ops]}",
        "  acme: {name: ACME Corp, tier: key, contacts: [{name: Ann}]}",
    )
    with pytest.raises(ProcessFileError) as err:
        parse_process(bad, filename="p.yaml")
    found = {(p.path, p.message) for p in err.value.problems}
    lines = {p.path: p.line for p in err.value.problems}
    assert lines["communication.cadence"] == line + 2
    assert (
        "communication.cadence",
        "no cadence for SEV2, SEV3, SEV4: give every severity one, like "
        "{SEV1: 1h, SEV2: 2h, SEV3: 4h, SEV4: 1d}",
    ) in found
    assert (
        "communication.working_hours.end",
        "1080 is not a time of day: YAML reads an unquoted 18:00 as the number 1080, so write "
        'the time in quotes, like "18:00"',
    ) in found
    assert (
        "accounts.acme.contacts[0]",
        "contact Ann has no channel: give an email or a phone",
    ) in {(p.path, p.message) for p in err.value.problems}
    reversed_hours = bad.replace("end: 18:00}", 'end: "08:00"}')
    with pytest.raises(ProcessFileError, match="hours end at 08:00, not after they start at 09:00"):
        parse_process(reversed_hours.replace("contacts: [{name: Ann}]", "contacts: []"))


def test_a_broken_update_template_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    process = tmp_path / "process.yaml"
    playbooks = resources.files("escalator.defaults") / "playbooks"
    process.write_text(
        default_process_text()
        .replace("  # templates: templates", "  templates: mine")
        .replace("  directory: playbooks", f"  directory: {playbooks}")
    )
    with pytest.raises(ProcessFileError, match=r"no directory .*mine: create it, or remove"):
        load_process(process)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "update.txt").write_text("Hello {{ contact.name }},\n\n{% if x %}\n")
    with pytest.raises(ProcessFileError) as err:
        load_process(process)
    [problem] = err.value.problems
    assert (problem.file, problem.line) == (str(tmp_path / "mine" / "update.txt"), 3)
    assert "template error: Unexpected end of template" in problem.message
    (tmp_path / "mine" / "update.txt").write_text("Hi {{ contact.name }}: {{ status }}")
    assert load_process(process).templates_dir() == tmp_path / "mine"


def test_the_post_mortem_section_defaults_to_the_seed_and_bad_values_name_their_lines() -> None:
    spec = load_process().spec.postmortem
    assert list(spec.root_causes)[:3] == ["new_release", "load", "unexpected_maintenance"]
    assert (spec.review.weekday, spec.review.time.isoformat(), spec.review.timezone) == (
        "friday",
        "15:00:00",
        "UTC",
    )
    assert spec.reminders.before == spec.reminders.overdue_every == timedelta(days=1)
    text = default_process_text()
    lines = text.splitlines()
    bad = (
        text.replace("    weekday: friday", "    weekday: someday")
        .replace('    time: "15:00"', "    time: teatime")
        .replace(
            "[support_manager, engineering_manager, first_tier", "[support_manager, ceo, first_tier"
        )
        .replace("    overdue_every: 1d", "    overdue_every: daily")
    )
    with pytest.raises(ProcessFileError) as err:
        parse_process(bad, filename="p.yaml")
    found = {(p.line, p.path) for p in err.value.problems}
    assert found == {
        (lines.index("    weekday: friday") + 1, "postmortem.review.weekday"),
        (lines.index('    time: "15:00"') + 1, "postmortem.review.time"),
        (
            next(i for i, x in enumerate(lines) if "participants:" in x) + 1,
            "postmortem.review.participants[1]",
        ),
        (
            lines.index(
                "    overdue_every: 1d            #   and this often after it (after the incident closed, too)"
            )
            + 1,
            "postmortem.reminders.overdue_every",
        ),
    }
    message = str(err.value)
    assert "'ceo' is not a role: roles are first_tier" in message
    assert "'someday' is not allowed here: write one of 'monday'" in message
