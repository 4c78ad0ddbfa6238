"""The seven roles of the seed process, and rotation arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

FIRST_TIER = "first_tier"
SUPPORT_MANAGER = "support_manager"
SECOND_TIER = "second_tier"
ENGINEERING_MANAGER = "engineering_manager"
ENGINEERING_COUNCIL = "engineering_council"
ON_CALL_ENGINEER = "on_call_engineer"
SME = "sme"

ROLES: tuple[str, ...] = (
    FIRST_TIER,
    SUPPORT_MANAGER,
    SECOND_TIER,
    ENGINEERING_MANAGER,
    ENGINEERING_COUNCIL,
    ON_CALL_ENGINEER,
    SME,
)


def rotation_holder(
    members: Sequence[str], *, anchor: datetime, shift: timedelta, at: datetime
) -> str | None:
    """Who holds a plain rotation at ``at``: members take ``shift``-long turns from ``anchor``.

    Times before the anchor count backwards, so the order is the same in both directions.
    """
    if not members:
        return None
    turns = (at - anchor) // shift
    return members[turns % len(members)]
