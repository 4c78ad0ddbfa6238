"""The seven roles of the seed process."""

from __future__ import annotations

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
