"""Schema migrations, run from code: ``escalator migrate``, ``serve`` at start, and the tests."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from escalator.store.db import Database

# any fixed number: several processes starting together on PostgreSQL migrate one at a time
_PG_LOCK = 0x45534341


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("escalator.store") / "migrations"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every schema revision this version of Escalator can upgrade from."""
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = _config()
    with db.engine.begin() as conn:
        if db.is_postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def is_at_head(db: Database) -> bool:
    return current_revision(db) == head_revision()
