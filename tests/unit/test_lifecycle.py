import pytest

from escalator.domain.lifecycle import (
    Action,
    IllegalTransition,
    IncidentState,
    Stage,
    Status,
    apply,
    diff,
    initial_state,
)

NEW = initial_state(owner_role="first_tier", owner_person=None)


def state(status: Status, stage: Stage = Stage.TRIAGE) -> IncidentState:
    return IncidentState(status, stage, "first_tier", "santhosh")


def test_a_new_incident_is_open_at_alert_owned_by_first_tier() -> None:
    assert IncidentState(Status.OPEN, Stage.ALERT, "first_tier", None) == NEW


def test_acknowledging_starts_triage_and_takes_ownership() -> None:
    after = apply(NEW, Action.ACKNOWLEDGE, actor="santhosh")
    assert (after.status, after.stage, after.owner_person) == (
        Status.ACKNOWLEDGED,
        Stage.TRIAGE,
        "santhosh",
    )


def test_escalation_hands_over_and_waits_for_the_new_owner() -> None:
    acked = apply(NEW, Action.ACKNOWLEDGE, actor="santhosh")
    after = apply(acked, Action.ESCALATE, to_role="support_manager", to_person="dinesh")
    assert after == IncidentState(Status.OPEN, Stage.ESCALATE, "support_manager", "dinesh")


def test_escalation_to_the_council_is_remediation() -> None:
    after = apply(NEW, Action.ESCALATE, to_role="engineering_council", to_person=None)
    assert after.stage is Stage.REMEDIATE


def test_resolve_moves_to_post_mortem_and_close_ends_it() -> None:
    resolved = apply(state(Status.ACKNOWLEDGED), Action.RESOLVE)
    assert (resolved.status, resolved.stage) == (Status.RESOLVED, Stage.POSTMORTEM)
    assert apply(resolved, Action.CLOSE).status is Status.CLOSED
    assert apply(resolved, Action.REOPEN) == state(Status.OPEN, Stage.TRIAGE)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.RESOLVED, Action.RESOLVE),
        (Status.RESOLVED, Action.ESCALATE),
        (Status.RESOLVED, Action.ACKNOWLEDGE),
        (Status.CLOSED, Action.RESOLVE),
        (Status.CLOSED, Action.REOPEN),
        (Status.CLOSED, Action.ESCALATE),
        (Status.ACKNOWLEDGED, Action.ACKNOWLEDGE),
        (Status.OPEN, Action.REOPEN),
        (Status.OPEN, Action.CLOSE),
        (Status.ACKNOWLEDGED, Action.CLOSE),
    ],
)
def test_illegal_moves_are_refused_naming_the_current_state(status: Status, action: Action) -> None:
    with pytest.raises(IllegalTransition) as err:
        apply(state(status), action, to_role="support_manager")
    assert f"is {status.value}" in str(err.value)


def test_diff_lists_each_changed_field_once() -> None:
    after = apply(NEW, Action.ACKNOWLEDGE, actor="dinesh")
    assert [(c.field, c.before, c.after) for c in diff(NEW, after)] == [
        ("status", "open", "acknowledged"),
        ("stage", "alert", "triage"),
        ("owner_person", None, "dinesh"),
    ]
