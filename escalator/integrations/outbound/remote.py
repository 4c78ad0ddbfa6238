"""What REMEDIATE asks outside services before storing a decision (does the flag exist and
may we turn it off; is the sprint open), in the shape of ``process.remediate.decisions.Remote``."""

from __future__ import annotations

from typing import Any

from escalator.integrations.outbound.jira import JiraSender
from escalator.integrations.outbound.unleash import Unleash


class Remote:
    def __init__(self, *, unleash: Unleash | None = None, jira: JiraSender | None = None) -> None:
        self._unleash = unleash
        self._jira = jira

    @property
    def unleash(self) -> bool:
        return self._unleash is not None

    @property
    def jira(self) -> bool:
        return self._jira is not None

    def check_flag(self, project: str, flag: str, environment: str) -> None:
        if self._unleash is not None:
            self._unleash.check_flag(project, flag, environment)

    def find_sprint(self, project: str, name: str) -> dict[str, Any]:
        if self._jira is None:
            raise ValueError("JIRA is not configured")
        return self._jira.find_sprint(project, name)
