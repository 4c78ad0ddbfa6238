"""Which use case runs when a timer of each kind falls due."""

from __future__ import annotations

from collections.abc import Callable

from escalator.process import triage
from escalator.process.context import Ctx
from escalator.store.models import Incident, Timer

TimerHandler = Callable[[Ctx, Incident, Timer], None]

HANDLERS: dict[str, TimerHandler] = {
    triage.DEADLINE: triage.on_deadline,
}
