"""The default process file's severity rules, one row per criterion moving the result."""

from __future__ import annotations

import pytest

from escalator.config.process_loader import load_process
from escalator.domain.severity import Answers, Rule, assess, at_or_above

RULES = load_process().severity_rules
CALM = dict(
    users_affected=1, account_tier="standard", user_impact="nice_to_have", business_impact="none"
)


@pytest.mark.parametrize(
    ("criterion", "change", "severity", "summary"),
    [
        ("nothing moves it", {}, "SEV4", "SEV4: no rule matched"),
        ("1. how many users", {"users_affected": 100}, "SEV2", "SEV2: 100 users affected"),
        (
            "1. how many users, below the bar",
            {"users_affected": 99},
            "SEV4",
            "SEV4: no rule matched",
        ),
        ("2. which users (alone)", {"account_tier": "key"}, "SEV4", "SEV4: no rule matched"),
        ("3. impact to the user: degraded", {"user_impact": "degraded"}, "SEV3", "SEV3: degraded"),
        ("3. impact to the user: blocked", {"user_impact": "blocked"}, "SEV2", "SEV2: blocked"),
        (
            "2 + 3. a key account blocked",
            {"user_impact": "blocked", "account_tier": "key"},
            "SEV1",
            "SEV1: blocked + key account",
        ),
        (
            "3. losing money, key account",
            {"user_impact": "losing_money", "account_tier": "key"},
            "SEV1",
            "SEV1: losing money + key account",
        ),
        (
            "4. impact to the company",
            {"business_impact": "losing_customer"},
            "SEV2",
            "SEV2: company losing customer",
        ),
        (
            "1 + 4. company losing money at scale",
            {"business_impact": "losing_money", "users_affected": 150},
            "SEV1",
            "SEV1: company losing money + 150 users affected",
        ),
        (
            "5. the stakeholder says SEV1",
            {"stakeholder": "Bob (ACME)", "stakeholder_priority": "SEV1"},
            "SEV1",
            "SEV1: stakeholder (Bob (ACME)) says SEV1",
        ),
        (
            "5. the stakeholder's SEV3 does not lower a blocked user",
            {"user_impact": "blocked", "stakeholder_priority": "SEV3"},
            "SEV2",
            "SEV2: blocked",
        ),
    ],
)
def test_each_criterion_moves_the_severity(
    criterion: str, change: dict, severity: str, summary: str
) -> None:
    verdict = assess(RULES, Answers(**{**CALM, **change}))
    assert (verdict.severity, verdict.summary) == (severity, summary), criterion


def test_the_first_matching_rule_wins_and_no_rule_gives_the_default() -> None:
    rules = [
        Rule("SEV2", user_impact=frozenset({"blocked"})),
        Rule("SEV1", user_impact=frozenset({"blocked"})),
    ]
    assert assess(rules, Answers(**{**CALM, "user_impact": "blocked"})).rule == 0
    assert assess(rules, Answers(**CALM), default="SEV3").severity == "SEV3"


@pytest.mark.parametrize(
    ("severity", "threshold", "above"),
    [
        ("SEV1", "SEV2", True),
        ("SEV2", "SEV2", True),
        ("SEV3", "SEV2", False),
        ("SEV4", "SEV1", False),
    ],
)
def test_threshold(severity: str, threshold: str, above: bool) -> None:
    assert at_or_above(severity, threshold) is above  # type: ignore[arg-type]
