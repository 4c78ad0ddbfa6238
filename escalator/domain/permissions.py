"""Which roles may do what. The seed's hand-offs, written as a table."""

from __future__ import annotations

from collections.abc import Iterable

ANY_ROLE = "any role"

# who may escalate an incident to each role (the seed's chain of hand-offs)
ESCALATE_TO: dict[str, frozenset[str]] = {
    "support_manager": frozenset({"first_tier", "support_manager"}),
    "engineering_manager": frozenset({"support_manager", "on_call_engineer"}),
    "on_call_engineer": frozenset({"support_manager"}),
    "sme": frozenset({"on_call_engineer", "engineering_manager"}),
    # REMEDIATE: the managers, the On Call Engineer or the SME holding it bring it to the council
    "engineering_council": frozenset(
        {"engineering_manager", "support_manager", "on_call_engineer", "sme"}
    ),
    "second_tier": frozenset({"first_tier", "support_manager", "engineering_manager"}),
}

# named actions that only some roles may take; anything not listed needs any role at all
ACTION_ROLES: dict[str, frozenset[str]] = {
    "rotation.edit": frozenset({"engineering_manager"}),
    "council.decide": frozenset({"engineering_council"}),
    "escalation.decide": frozenset({"support_manager"}),
    "incident.close": frozenset({"support_manager", "engineering_manager"}),
    "integration.manage": frozenset({"support_manager", "engineering_manager"}),
    "customer.update": frozenset({"second_tier", "support_manager"}),
    "customer.waive": frozenset({"support_manager", "engineering_manager"}),
    # a post-mortem's owner (who owned the incident) writes it too; see process/postmortem
    "postmortem.write": frozenset({"support_manager", "engineering_manager"}),
    "postmortem.review": frozenset({"support_manager", "engineering_manager"}),
    "postmortem.waive": frozenset({"support_manager", "engineering_manager"}),
}
PHRASES = {
    "integration.manage": "manage integrations",
    "rotation.edit": "edit rotations",
    "council.decide": "record council decisions",
    "escalation.decide": "decide how an incident escalates",
    "incident.close": "close incidents",
    "customer.update": "update customers",
    "customer.waive": "waive telling customers an incident was resolved",
    "postmortem.write": "write this post-mortem (its owner may too)",
    "postmortem.review": "mark post-mortems reviewed",
    "postmortem.waive": "waive post-mortems",
}


class Forbidden(Exception):
    """The person's roles do not allow the action; the message names the roles that do."""

    def __init__(self, person: str, what: str, required: Iterable[str]) -> None:
        need = sorted(required)
        super().__init__(
            f"{person} may not {what}: it needs the role "
            + (" or ".join(need) if need else ANY_ROLE)
        )
        self.required = need


def check_action(person: str, roles: frozenset[str], action: str) -> None:
    """Raise :class:`Forbidden` unless ``roles`` allow the named ``action``."""
    required = ACTION_ROLES.get(action)
    what = PHRASES.get(action, action.replace(".", " "))
    if required is None:
        if not roles:
            raise Forbidden(person, what, [])
        return
    if not roles & required:
        raise Forbidden(person, what, required)


def check_escalation(person: str, roles: frozenset[str], to_role: str) -> None:
    """Raise :class:`Forbidden` unless ``roles`` may hand an incident to ``to_role``."""
    required = ESCALATE_TO.get(to_role)
    if required is None:
        raise ValueError(f"no escalation path leads to role {to_role!r}")
    if not roles & required:
        raise Forbidden(person, f"escalate to {to_role}", required)
