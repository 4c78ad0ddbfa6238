"""The ASGI app built from the environment, for servers that import it by name
(``escalator serve --workers N`` starts each server process this way; the process that
supervises them runs the worker, the SMTP listener and Socket Mode, once)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from escalator.api.server import create_app
from escalator.app import build

SUPERVISED = "_ESCALATOR_SUPERVISED"  # set by serve --workers N for the server processes


def app() -> FastAPI:
    return create_app(build(), background=os.environ.get(SUPERVISED) != "1")
