"""Unleash's admin API: turning a flag off in one environment (a rollback), and looking a
flag up before a decision is stored.

``POST /api/admin/projects/{project}/features/{flag}/environments/{env}/off`` answers 200
with an empty body and is idempotent (a repeated /off changes nothing and emits no event).
The sender still looks at the flag first: a retried message whose first answer was lost (a
timeout after Unleash turned it off) finds it off and does not ask again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx2 as httpx

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure


class UnleashError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Unleash:
    def __init__(self, *, url: str, token: str, timeout: float = 10) -> None:
        self.base = url.rstrip("/")
        self.client = httpx.Client(
            timeout=timeout, headers={"Authorization": token, "Accept": "application/json"}
        )

    def _feature_url(self, project: str, flag: str) -> str:
        project, flag = quote(project, safe=""), quote(flag, safe="")
        return f"{self.base}/api/admin/projects/{project}/features/{flag}"

    @staticmethod
    def _error(response: httpx.Response) -> UnleashError:
        try:
            data = response.json()
            message = str(data.get("message") or data) if isinstance(data, dict) else str(data)
        except ValueError:
            message = response.text[:300] or response.reason_phrase
        return UnleashError(response.status_code, f"Unleash {response.status_code}: {message}")

    def feature(self, project: str, flag: str) -> dict[str, Any]:
        response = self.client.get(self._feature_url(project, flag))
        if response.status_code != 200:
            raise self._error(response)
        data = response.json()
        return data if isinstance(data, dict) else {}

    def enabled(self, project: str, flag: str, environment: str) -> bool:
        """Whether the flag is on there; UnleashError(404) when the environment is unknown."""
        for env in self.feature(project, flag).get("environments", []):
            if isinstance(env, dict) and env.get("name") == environment:
                return bool(env.get("enabled"))
        raise UnleashError(
            404, f"Unleash: flag {flag} has no environment {environment!r} in project {project}"
        )

    def turn_off(self, project: str, flag: str, environment: str) -> None:
        url = f"{self._feature_url(project, flag)}/environments/{quote(environment, safe='')}/off"
        response = self.client.post(url)
        if response.status_code not in (200, 204):
            raise self._error(response)

    # -- the decision's check (Remote.check_flag) ------------------------------------------
    def check_flag(self, project: str, flag: str, environment: str) -> None:
        try:
            self.enabled(project, flag, environment)
        except UnleashError as exc:
            raise ValueError(str(exc)) from exc
        except httpx.TransportError as exc:
            raise ValueError(f"Unleash is unreachable ({type(exc).__name__}): try again") from exc


class UnleashSender:
    per_minute = None

    def __init__(self, unleash: Unleash) -> None:
        self.unleash = unleash

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        p = message.payload
        if p.get("op") != "off":
            raise PermanentFailure(f"unknown Unleash operation {p.get('op')!r}")
        project, flag, env = str(p["project"]), str(p["flag"]), str(p["environment"])
        try:
            if not self.unleash.enabled(project, flag, env):
                return {"flag": flag, "environment": env, "enabled": False, "already_off": True}
            self.unleash.turn_off(project, flag, env)
        except UnleashError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TemporaryFailure(str(exc)) from exc
            raise PermanentFailure(str(exc)) from exc
        except httpx.TransportError as exc:  # timeouts too: the next try looks first
            raise TemporaryFailure(f"Unleash unreachable: {type(exc).__name__}") from exc
        return {"flag": flag, "environment": env, "enabled": False, "answer": "200"}
