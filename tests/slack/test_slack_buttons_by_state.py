"""The root message's buttons follow the incident's state, as the console's do."""

from __future__ import annotations

import pytest

from escalator.domain.council import KINDS
from escalator.process.core import announce as a
from escalator.store.models import Incident


def incident(**state: object) -> Incident:
    base: dict[str, object] = {
        "id": 7,
        "status": "open",
        "stage": "alert",
        "owner_role": "first_tier",
        "severity": None,
        "policy": None,
    }
    return Incident(**{**base, **state})


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ({}, [a.ACKNOWLEDGE, a.CLAIM, a.TRIAGE, a.UPDATE, a.RESOLVE]),
        ({"status": "acknowledged", "stage": "triage"}, [a.CLAIM, a.TRIAGE, a.UPDATE, a.RESOLVE]),
        (
            {"stage": "escalate", "owner_role": "support_manager", "severity": "SEV1"},
            [a.ACKNOWLEDGE, a.TRIAGE, a.DECIDE, a.TO_COUNCIL, a.UPDATE, a.RESOLVE],
        ),
        (
            {
                "status": "acknowledged",
                "stage": "escalate",
                "owner_role": "on_call_engineer",
                "severity": "SEV1",
                "policy": {"chains": {}},
            },
            [a.TRIAGE, a.BRING_IN, a.TO_COUNCIL, a.UPDATE, a.RESOLVE],
        ),
        (
            {"status": "acknowledged", "stage": "escalate", "owner_role": "sme"},
            [a.TRIAGE, a.TO_COUNCIL, a.UPDATE, a.RESOLVE],
        ),
        # before the council: its decision while the case waits in its queue, not after
        (
            {"status": "acknowledged", "stage": "remediate", "owner_role": "engineering_council"},
            [a.UPDATE, a.RESOLVE],
        ),
        ({"status": "resolved", "stage": "postmortem", "severity": "SEV2"}, [a.UPDATE]),
        ({"status": "closed", "stage": "postmortem"}, []),
    ],
)
def test_buttons_by_state(state: dict[str, object], shown: list[str]) -> None:
    buttons = a.buttons(incident(**state))
    assert [b["action_id"] for b in buttons] == shown
    for button in buttons:
        if button["type"] == "button":
            assert button["value"] == "INC-7"
        else:
            assert [o["value"] for o in button["options"]] == [f"INC-7 {d}" for d in a.DECISIONS]


def test_the_council_decides_while_the_case_waits() -> None:
    waiting = incident(status="acknowledged", stage="remediate", owner_role="engineering_council")
    buttons = a.buttons(waiting, council_waiting=True)
    assert [b["action_id"] for b in buttons] == [a.COUNCIL_DECIDE, a.UPDATE, a.RESOLVE]
    assert [o["value"] for o in buttons[0]["options"]] == [f"INC-7 {kind}" for kind in KINDS], (
        "one choice per kind of decision"
    )
    assert a.COUNCIL_DECIDE not in [
        b["action_id"] for b in a.buttons(incident(), council_waiting=True)
    ]


def test_on_call_in_charge_before_the_council_is_not_offered_the_council_again() -> None:
    """Brought to the council while acknowledged, on call keeps it: the council decides while
    the case waits, and nobody is offered To council again (nor in the alert stage)."""
    kept = incident(status="acknowledged", stage="remediate", owner_role="on_call_engineer")
    assert [b["action_id"] for b in a.buttons(kept, council_waiting=True)] == [
        a.COUNCIL_DECIDE,
        a.UPDATE,
        a.RESOLVE,
    ]
    assert a.TO_COUNCIL not in [b["action_id"] for b in a.buttons(kept)]
    alert = incident(stage="alert", owner_role="support_manager")
    assert a.TO_COUNCIL not in [b["action_id"] for b in a.buttons(alert)]
