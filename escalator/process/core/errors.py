"""Errors a use case raises for the faces (API, CLI, console) to turn into their own terms."""

from __future__ import annotations


class NotFound(Exception):
    """The thing named does not exist; the message says which."""


class InvalidInput(Exception):
    """Input the use case cannot act on; ``field`` names what to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
