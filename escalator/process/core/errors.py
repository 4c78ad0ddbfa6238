"""Errors a use case raises for the faces (API, CLI, console) to turn into their own terms."""

from __future__ import annotations

MAX_ROW_ID = 2**31 - 1  # the largest id both databases store (PostgreSQL's integer)


class NotFound(Exception):
    """The thing named does not exist; the message says which."""


def possible_id(row_id: int, missing: str) -> int:
    """``row_id``, or NotFound(``missing``) for an id no row can have (an id column is a 32-bit
    integer on PostgreSQL, and a bound parameter past it is an error there, not a miss)."""
    if not 0 < row_id <= MAX_ROW_ID:
        raise NotFound(missing)
    return row_id


class InvalidInput(Exception):
    """Input the use case cannot act on; ``field`` names what to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
