"""Severity from the seed's five triage questions, by the process file's rules.

The first rule whose every condition holds gives the severity; the reasons name the answers
that made it so ("SEV1: blocked + key account"). No rule matching gives the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Level = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
LEVELS: tuple[Level, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
USER_IMPACTS = ("blocked", "losing_money", "degraded", "nice_to_have")
BUSINESS_IMPACTS = ("losing_money", "losing_customer", "none")


@dataclass(frozen=True)
class Answers:
    """What the triager found out, one field per question of the seed."""

    users_affected: int  # 1. how many users are affected
    account_tier: str | None  # 2. which users: the affected account's tier ("key", …)
    user_impact: str  # 3. impact to the user
    business_impact: str  # 4. impact to the company
    stakeholder: str = ""  # 5. who was asked …
    stakeholder_priority: Level | None = None  # … and the priority they gave


@dataclass(frozen=True)
class Rule:
    severity: Level
    users_affected_at_least: int | None = None
    account_tier: frozenset[str] | None = None
    user_impact: frozenset[str] | None = None
    business_impact: frozenset[str] | None = None
    stakeholder_priority: frozenset[str] | None = None
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    severity: Level
    reasons: tuple[str, ...]
    rule: int | None  # index of the rule that matched, None for the default

    @property
    def summary(self) -> str:
        return f"{self.severity}: " + (" + ".join(self.reasons) or "no rule matched")


def _because(rule: Rule, answers: Answers) -> list[str] | None:
    """What in ``answers`` satisfies ``rule``, or None if some condition fails."""
    why: list[str] = []
    if rule.stakeholder_priority is not None:
        if answers.stakeholder_priority not in rule.stakeholder_priority:
            return None
        who = f" ({answers.stakeholder})" if answers.stakeholder else ""
        why.append(f"stakeholder{who} says {answers.stakeholder_priority}")
    if rule.user_impact is not None:
        if answers.user_impact not in rule.user_impact:
            return None
        why.append(answers.user_impact.replace("_", " "))
    if rule.account_tier is not None:
        if answers.account_tier not in rule.account_tier:
            return None
        why.append(f"{answers.account_tier} account")
    if rule.business_impact is not None:
        if answers.business_impact not in rule.business_impact:
            return None
        why.append("company " + answers.business_impact.replace("_", " "))
    if rule.users_affected_at_least is not None:
        if answers.users_affected < rule.users_affected_at_least:
            return None
        why.append(f"{answers.users_affected} users affected")
    return why


def assess(rules: Sequence[Rule], answers: Answers, *, default: Level = "SEV4") -> Verdict:
    for index, rule in enumerate(rules):
        why = _because(rule, answers)
        if why is not None:
            return Verdict(rule.severity, tuple(why), index)
    return Verdict(default, (), None)


def at_or_above(severity: Level, threshold: Level) -> bool:
    """SEV1 is the highest: SEV1 is at or above SEV2."""
    return LEVELS.index(severity) <= LEVELS.index(threshold)
