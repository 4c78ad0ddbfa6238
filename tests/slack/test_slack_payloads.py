"""Whatever a signed payload holds, the face answers it without an error of its own: odd
shapes are ignored, unusable answers come back as modal errors, unknown incidents refused."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.core import announce
from escalator.process.core.context import SYSTEM
from escalator.slack import views
from escalator.slack.face import SlackFace

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
ACTIONS = [announce.ACKNOWLEDGE, announce.CLAIM, announce.DECIDE, announce.RESOLVE, "other"]
action = st.fixed_dictionaries(
    {"action_id": st.sampled_from(ACTIONS)},
    optional={
        "value": st.one_of(st.text(max_size=12), st.just("INC-1"), json_values),
        "selected_option": json_values,
    },
)
payloads = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("block_actions"),
            "user": st.just({"id": "U0DINESH"}),
            "actions": st.one_of(st.lists(action, max_size=2), json_values),
        },
        optional={"channel": json_values, "container": json_values},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("view_submission"),
            "user": st.one_of(st.just({"id": "U0SANTHOSH"}), json_values),
            "view": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {
                        "callback_id": st.sampled_from([views.TRIAGE, views.UPDATE, "x"]),
                        "private_metadata": st.sampled_from(["INC-1", "INC-99999999999", "", "x"]),
                        "state": json_values,
                        "blocks": json_values,
                    }
                ),
            ),
        }
    ),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_any_payload_is_answered(slacked: Services, payload: dict[str, Any]) -> None:
    with slacked.unit_of_work(SYSTEM) as ctx:  # INC-1 exists, and more
        opening.open_incident(ctx, title="checkout down", source="alarm", channel="manual")
    face = SlackFace(slacked)
    face.tell = lambda *args: None  # type: ignore[method-assign]  # no Slack to tell here
    answer = face.interactive(payload)
    if answer.later is not None:
        answer.later()
    if answer.body is not None:
        assert answer.body.get("response_action") in ("errors", "update")


@given(
    got=st.dictionaries(
        st.sampled_from(
            [
                "who",
                "what",
                "users_affected",
                "user_impact",
                "business_impact",
                "stakeholder_priority",
                "account_tier",
                "stakeholder",
            ]
        ),
        st.text(max_size=15),
    )
)
@example(got={"users_affected": "²", "user_impact": "blocked", "business_impact": "none"})
def test_reading_the_triage_modal(got: dict[str, str]) -> None:
    read = views.read_triage(got, "standard")
    assert (read.answers is None) or not read.errors
    assert set(read.errors) <= {
        "users_affected",
        "user_impact",
        "business_impact",
        "stakeholder_priority",
    }
    if read.answers is not None:
        assert read.answers.users_affected >= 0
        assert read.answers.user_impact in views.USER_IMPACT
