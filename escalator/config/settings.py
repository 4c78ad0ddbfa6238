"""Runtime settings, read from ``ESCALATOR_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATOR_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/escalator.db",
        description="SQLAlchemy URL; postgresql+psycopg://… to run several processes.",
    )
    process_file: Path | None = Field(
        default=None, description="Process file; the packaged default encodes the seed process."
    )
    host: str = "127.0.0.1"
    port: int = 8080
    auto_migrate: bool = Field(
        default=True, description="Upgrade the database to the newest schema when serving."
    )
    run_worker: bool = Field(
        default=True, description="Run the timer/outbox worker inside `escalator serve`."
    )
    worker_poll_seconds: float = 0.5
    worker_batch: int = 200
    outbox_max_attempts: int = 12
    public_url: str = Field(
        default="", description="Base URL people reach the console at, for links in messages."
    )
    cookie_secure: bool = False
