"""The intake route on a short path.

``POST /api/v1/intake/{kind}`` is what a storm hits thousands of times a second. This
middleware hands those requests straight to the route's own handler (``intake.receive``),
without FastAPI's routing, dependency solving, exception middleware and response machinery,
which cost about as much CPU as the handler itself (py-spy of ``escalator serve`` under wrk).
Everything else goes on to the app as before. The answers are the same: the handler is the
same function, and an error it raises is answered by the handler the app registered for it
(``api/problems.py``), so a bad secret or body gets the same problem+json either way; an
unexpected error is answered 500 problem+json (with the security headers) and logged. The
route stays declared on the app, for ``/docs``.

It sits inside the security-headers middleware, so its answers carry them too.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from escalator.api import intake
from escalator.api.problems import problem

log = logging.getLogger("escalator.intake")

PREFIX = "/api/v1/intake/"


class IntakePath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        if scope["type"] == "http" and scope["method"] == "POST" and path.startswith(PREFIX):
            kind = path[len(PREFIX) :]
            if kind and "/" not in kind:
                await self._intake(kind, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _intake(self, kind: str, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await intake.receive(kind, request)
        except Exception as exc:
            handler = _handler_for(scope["app"], exc)
            if handler is None:  # what the app's error middleware would answer, as problem+json
                log.exception("intake of %s failed", kind)
                response = problem(500, "Internal server error", "intake failed; see the log")
            else:
                response = await handler(request, exc)
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the app's router matches: without the root path a proxy serves us under."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _handler_for(app: Any, exc: Exception) -> Any:
    handlers = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
