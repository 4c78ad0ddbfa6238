"""A fake Unleash admin API (../shared/wire/unleash.md): flags per project with per-environment
on/off, ``GET …/features/{flag}``, ``POST …/environments/{env}/off|on`` (200, empty body,
idempotent: an event only when the state changes). ``slow_offs`` makes the next turn-offs
apply and then answer too late, as a timeout after acceptance; ``forbid`` answers 403 as a
token without UPDATE_FEATURE_ENVIRONMENT does."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from tests.fakes.http import FakeServer, Reply, Request

TOKEN = "user:" + "ab" * 28

ERROR_401 = {
    "id": "8c0f2b6e-4a7d-4e35-9d0b-3f1c6a2e9b41",
    "name": "UnauthorizedError",
    "message": "You must log in to use Unleash.",
    "details": [{"message": "You must log in to use Unleash."}],
}
_PERMISSION = (
    "You don't have the required permissions to perform this operation. To perform this "
    'action, you need the "UPDATE_FEATURE_ENVIRONMENT" permission.'
)
ERROR_403 = {
    "id": "2d9a61f4-0c3b-4b8e-a7a5-5e4f1d2c7b90",
    "name": "PermissionError",
    "message": _PERMISSION,
    "details": [{"message": _PERMISSION}],
    "permissions": ["UPDATE_FEATURE_ENVIRONMENT"],
}
_PATH = re.compile(
    r"^/api/admin/projects/([^/]+)/features/([^/]+)(?:/environments/([^/]+)/(on|off))?$"
)


class FakeUnleash:
    def __init__(self) -> None:
        # (project, flag) -> environment -> enabled
        self.flags: dict[tuple[str, str], dict[str, bool]] = {}
        self.events: list[dict[str, Any]] = []  # what the webhook would send: state changes
        self.slow_offs = 0
        self.delay = 0.0
        self.forbid = False  # the token lacks UPDATE_FEATURE_ENVIRONMENT: turning off is 403
        self.client_token = False  # a client token on admin routes: everything is 403
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle, threaded_handler=True)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()

    def add(self, project: str, flag: str, **environments: bool) -> None:
        self.flags[(project, flag)] = dict(environments)

    def _handle(self, request: Request) -> Reply:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            auth = auth[7:]
        if auth != TOKEN:
            return Reply.json(401, ERROR_401)
        if self.client_token:
            message = "invalid token: expected a different token type for this endpoint"
            return Reply.json(403, {"name": "PermissionError", "message": message})
        found = _PATH.match(request.path)
        if not found:
            return Reply.json(404, {"name": "NotFoundError", "message": "Could not find route"})
        project, flag, env, action = found.groups()
        with self._lock:
            envs = self.flags.get((project, flag))
        if envs is None:
            message = f'There\'s no feature named "{flag}" in project "{project}".'
            return Reply.json(
                404,
                {"name": "NotFoundError", "message": message, "details": [{"message": message}]},
            )
        if action is None and request.method == "GET":
            return Reply.json(200, self._feature(project, flag, envs))
        if request.method != "POST" or action is None:
            return Reply(405)
        if self.forbid:
            return Reply.json(403, ERROR_403)
        if env not in envs:
            message = f"Could not find environment {env} for feature: {flag}"
            return Reply.json(404, {"name": "NotFoundError", "message": message})
        with self._lock:
            wanted = action == "on"
            if envs[env] != wanted:
                envs[env] = wanted
                self.events.append(
                    {
                        "type": f"feature-environment-{'enabled' if wanted else 'disabled'}",
                        "featureName": flag,
                        "project": project,
                        "environment": env,
                    }
                )
            slow = self.slow_offs > 0
            if slow:
                self.slow_offs -= 1
        if slow:
            time.sleep(self.delay)  # applied, but the answer comes after the client gave up
        return Reply(200)

    @staticmethod
    def _feature(project: str, flag: str, envs: dict[str, bool]) -> dict[str, Any]:
        return {
            "name": flag,
            "project": project,
            "type": "release",
            "archived": False,
            "stale": False,
            "environments": [
                {"name": name, "enabled": on, "type": name, "strategies": []}
                for name, on in envs.items()
            ],
        }
