"""The ASGI app built from the environment, for servers that import it by name
(``escalator serve --workers N`` starts each worker process this way)."""

from __future__ import annotations

from fastapi import FastAPI

from escalator.api.server import create_app
from escalator.app import build


def app() -> FastAPI:
    return create_app(build())
