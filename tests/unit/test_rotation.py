from datetime import UTC, datetime, timedelta

import pytest

from escalator.domain.roles import rotation_holder

ANCHOR = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)


@pytest.mark.parametrize(
    ("at", "holder"),
    [
        (ANCHOR, "vijay"),
        (ANCHOR + WEEK - timedelta(seconds=1), "vijay"),
        (ANCHOR + WEEK, "michael"),
        (ANCHOR + 2 * WEEK, "jonathan"),
        (ANCHOR + 3 * WEEK, "vijay"),
        (ANCHOR - timedelta(seconds=1), "jonathan"),
    ],
)
def test_members_take_turns(at: datetime, holder: str) -> None:
    assert (
        rotation_holder(["vijay", "michael", "jonathan"], anchor=ANCHOR, shift=WEEK, at=at)
        == holder
    )


def test_an_empty_rotation_has_nobody() -> None:
    assert rotation_holder([], anchor=ANCHOR, shift=WEEK, at=ANCHOR) is None
