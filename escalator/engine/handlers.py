"""Which use case runs when a timer of each kind falls due, and what a delivered message's
answer means: the stages' own tables (``process/stages.py``)."""

from __future__ import annotations

from escalator.process.stages import ARMERS, HANDLERS, RECEIPTS, Receipt, TimerHandler

__all__ = ["ARMERS", "HANDLERS", "RECEIPTS", "Receipt", "TimerHandler"]
