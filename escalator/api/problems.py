"""Errors as RFC 9457 ``application/problem+json``: what went wrong, and in which field."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from escalator.domain.lifecycle import IllegalTransition
from escalator.domain.permissions import Forbidden
from escalator.integrations.inbound.common import DEPTH_HINT
from escalator.process.core.errors import InvalidInput, NotFound

MEDIA_TYPE = "application/problem+json"
FASTAPI_UNREADABLE = "There was an error parsing the body"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
BAD_BODY = {
    "description": "a body that cannot be read: malformed JSON, nested too deeply, not UTF-8",
    "content": {MEDIA_TYPE: {}},
}


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:  # a lone surrogate quoted from the request: escape it
            return json.dumps(content, separators=(",", ":")).encode()


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return ProblemResponse(body, status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    for error in exc.errors():
        if error["type"] == "json_invalid":
            reason = error.get("ctx", {}).get("error", "not JSON")
            return problem(
                400, "Malformed JSON", f"malformed JSON: {reason} at character {error['loc'][-1]}"
            )
    errors = [{"field": _field(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return problem(422, "Invalid request", detail, errors=errors)


def _unreadable(exc: HTTPException) -> str | None:
    """What FastAPI's "There was an error parsing the body" was, in words that help."""
    if exc.detail != FASTAPI_UNREADABLE:
        return None
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return DEPTH_HINT
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    if isinstance(cause, ValueError):  # Python reads no integer of more than 4,300 digits
        return "malformed JSON: a number has too many digits"
    return None


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    titles = {401: "Not signed in", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
    title = titles.get(exc.status_code) or HTTPStatus(exc.status_code).phrase
    detail = _unreadable(exc) or str(exc.detail)
    allowed = _allowed(request) if exc.status_code == 405 else []
    if allowed:
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    response = problem(exc.status_code, title, detail)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return problem(404, "Not found", str(exc))


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IllegalTransition)
    return problem(409, "Conflict", str(exc), current_status=exc.state.status.value)


async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    return problem(403, "Forbidden", str(exc), required_roles=exc.required)


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return problem(
        422, "Invalid request", str(exc), errors=[{"field": exc.field, "reason": exc.reason}]
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(IllegalTransition, _conflict)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(InvalidInput, _invalid)


def declare_bad_bodies(app: FastAPI) -> None:
    """Document the 400 that every operation taking a body may answer, once for all."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # made once and kept; adding to it again changes nothing
        for operations in schema["paths"].values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["responses"].setdefault("400", BAD_BODY)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
