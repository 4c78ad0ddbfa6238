from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from escalator.store import migrate
from escalator.store.db import Database
from escalator.store.models import Base


def _modelled(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """Full-text search lives only in the database: the FTS5 tables, the tsvector column."""
    return not (name or "").startswith(("search_fts", "search_vocab")) and name not in (
        "tsv",
        "ix_search_docs_tsv",
    )


def test_an_empty_database_upgrades_to_head_and_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert migrate.current_revision(db) is None
        migrate.upgrade(db)
        assert migrate.is_at_head(db)
        tables = set(inspect(db.engine).get_table_names())
        assert {"incidents", "timeline_events", "timers", "outbox", "api_tokens"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _modelled})
            drift = compare_metadata(context, Base.metadata)
        assert drift == [], f"models and migrations differ: {drift}"
        migrate.upgrade(db)  # a second run is a no-op
        assert migrate.is_at_head(db)
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/wal.db")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()
