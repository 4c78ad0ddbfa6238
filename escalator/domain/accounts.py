"""Which customer account a report comes from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class AccountRule:
    id: str
    name: str
    tier: str
    domains: frozenset[str]
    forum_users: frozenset[str]


@dataclass(frozen=True)
class Match:
    id: str
    name: str
    tier: str
    by: str  # what matched: "name", "email domain", "forum user"


def match_account(
    accounts: Iterable[AccountRule],
    *,
    named: str | None = None,
    email: str | None = None,
    forum_user: str | None = None,
) -> Match | None:
    """The first account matched by its id or name, the sender's email domain, or forum user."""
    rules = list(accounts)
    if named:
        wanted = named.strip().lower()
        for rule in rules:
            if wanted in (rule.id.lower(), rule.name.lower()):
                return Match(rule.id, rule.name, rule.tier, "name")
    if email and "@" in email:
        domain = email.rsplit("@", 1)[1].strip().strip(">").lower()
        for rule in rules:
            if any(domain == d or domain.endswith("." + d) for d in rule.domains):
                return Match(rule.id, rule.name, rule.tier, "email domain")
    if forum_user:
        user = forum_user.lower()
        for rule in rules:
            if user in rule.forum_users:
                return Match(rule.id, rule.name, rule.tier, "forum user")
    return None


def as_details(match: Match | None) -> Mapping[str, str]:
    if match is None:
        return {}
    return {"account": match.id, "account_name": match.name, "account_tier": match.tier}
