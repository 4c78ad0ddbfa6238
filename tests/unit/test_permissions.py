import pytest

from escalator.domain.permissions import Forbidden, check_action, check_escalation


@pytest.mark.parametrize(
    ("roles", "to_role", "allowed"),
    [
        ({"first_tier"}, "support_manager", True),
        ({"first_tier"}, "on_call_engineer", False),
        ({"support_manager"}, "on_call_engineer", True),
        ({"support_manager"}, "engineering_manager", True),
        ({"on_call_engineer"}, "sme", True),
        ({"second_tier"}, "sme", False),
        (set(), "support_manager", False),
    ],
)
def test_escalation_follows_the_seed_chain(roles: set[str], to_role: str, allowed: bool) -> None:
    if allowed:
        check_escalation("x", frozenset(roles), to_role)
    else:
        with pytest.raises(Forbidden) as err:
            check_escalation("x", frozenset(roles), to_role)
        assert err.value.required  # the message names who may


def test_only_the_engineering_manager_fills_rotations() -> None:
    check_action("raja", frozenset({"engineering_manager"}), "rotation.edit")
    with pytest.raises(Forbidden, match="needs the role engineering_manager"):
        check_action("vijay", frozenset({"engineering_council"}), "rotation.edit")


def test_only_the_council_records_council_decisions() -> None:
    with pytest.raises(Forbidden, match="engineering_council"):
        check_action("noah", frozenset({"second_tier"}), "council.decide")


def test_someone_with_no_role_may_do_nothing() -> None:
    with pytest.raises(Forbidden):
        check_action("ghost", frozenset(), "incident.resolve")
