"""Backups and restores.

SQLite: the online backup API copies the database in one step, which is one consistent
snapshot; in WAL mode ``escalator serve`` and the workers go on writing meanwhile. The copy
must pass ``PRAGMA integrity_check`` before it takes the backup's name. A restore copies a
backup into an empty database the same way, then migrates it to head, so a backup made by an
older Escalator restores into a newer one.

PostgreSQL: pg_dump and pg_restore do this better than we could. The commands are built from
the configured URL without its password (libpq takes it from PGPASSWORD or ~/.pgpass).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from escalator.store import migrate
from escalator.store.db import Database, normalize_url

SQLITE_HEADER = b"SQLite format 3\x00"
REFUSED = 2  # nothing was tried: the message says what to change
FAILED = 1


class BackupError(Exception):
    """What went wrong and what to do; ``code`` is the command's exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Snapshot:
    """A database file as found: its schema revision and how many incidents it holds."""

    path: Path
    revision: str | None
    incidents: int
    size: int


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError(
            "an in-memory database has nothing to back up or restore into: "
            "point ESCALATOR_DATABASE_URL at a file",
            REFUSED,
        )
    return Path(parsed.database)


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        yield conn


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _describe(conn: sqlite3.Connection, path: Path) -> Snapshot:
    revision = None
    if _has_table(conn, "alembic_version"):
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    incidents = 0
    if _has_table(conn, "incidents"):
        incidents = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    return Snapshot(path, revision, incidents, path.stat().st_size)


def _check(conn: sqlite3.Connection, what: str) -> None:
    found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if found != ["ok"]:
        shown = "; ".join(str(f) for f in found[:5])
        raise BackupError(f"{what} fails SQLite's integrity check: {shown}")


def backup_sqlite(database: Path, dest: Path, *, replace: bool = False) -> Snapshot:
    """Copy ``database`` to ``dest`` while it is in use; checked before ``dest`` is written."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database}: check ESCALATOR_DATABASE_URL")
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory: name the backup file inside it", REFUSED)
    if dest.exists() and dest.resolve() == database.resolve():
        raise BackupError(f"{dest} is the database itself: name another file", REFUSED)
    if dest.exists() and not replace:
        raise BackupError(
            f"{dest} exists: name another file, or pass --replace to overwrite it", REFUSED
        )
    if not dest.parent.is_dir():
        raise BackupError(f"there is no directory {dest.parent}: create it first", REFUSED)
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        with _open(database) as source, _open(partial) as copy:
            source.backup(copy)  # one step: one snapshot, and writers are not held up (WAL)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check(copy, f"the copy of {database}")
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed ({exc}); {dest} was not written") from exc
    finally:
        partial.unlink(missing_ok=True)
    with _open(dest) as conn:
        return _describe(conn, dest)


def check_backup(backup: Path) -> Snapshot:
    """A backup this Escalator can restore, or a BackupError saying why not."""
    if not backup.is_file():
        raise BackupError(f"there is no file {backup}", REFUSED)
    with backup.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(
                f"{backup} is not a SQLite database: restore a file made by `escalator backup` "
                "(a PostgreSQL dump goes back with pg_restore)",
                REFUSED,
            )
    try:
        with _open(backup) as conn:
            _check(conn, str(backup))
            found = _describe(conn, backup)
    except sqlite3.Error as exc:
        raise BackupError(f"{backup} cannot be read as a SQLite database: {exc}") from exc
    if found.revision is None:
        raise BackupError(
            f"{backup} is not an Escalator database (it has no schema revision)", REFUSED
        )
    if found.revision not in migrate.known_revisions():
        raise BackupError(
            f"{backup} was made by a newer Escalator (schema {found.revision}): restore it "
            "with that version or a later one",
            REFUSED,
        )
    return found


def incidents(count: int) -> str:
    return f"{count} incident{'s' * (count != 1)}"


def not_empty(where: str, count: int) -> BackupError:
    return BackupError(
        f"the database at {where} already has {incidents(count)}, and a restore goes only "
        "into an empty database: point ESCALATOR_DATABASE_URL at a new database (or move this "
        "one away) and run `escalator restore` again",
        REFUSED,
    )


def restore_sqlite(backup: Path, url: str) -> tuple[Snapshot, str | None]:
    """Copy ``backup`` into the empty SQLite database at ``url``, then migrate it to head.

    Returns what the backup held and the schema revision the database is at now.
    """
    database = sqlite_file(url)
    assert database is not None, "restore_sqlite takes a SQLite URL"
    found = check_backup(backup)
    if database.exists():
        if database.resolve() == backup.resolve():
            raise BackupError(f"{backup} is the database itself", REFUSED)
        with _open(database) as conn:
            present = _describe(conn, database).incidents
        if present:
            raise not_empty(str(database), present)
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _open(backup) as source, _open(database) as target:
            source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"the restore into {database} failed: {exc}") from exc
    db = Database(url)
    try:
        migrate.upgrade(db)
        return found, migrate.current_revision(db)
    finally:
        db.dispose()


def incident_count(db: Database) -> int:
    """How many incidents the database holds (0 before it has a schema)."""
    if not inspect(db.engine).has_table("incidents"):
        return 0
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM incidents")).scalar_one())


def _libpq(url: URL) -> str:
    """A libpq connection URI without the password."""
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False)


def _schema(url: URL) -> str | None:
    """The schema named by ``options=-csearch_path=…``: where Escalator's tables are."""
    options = url.query.get("options") or ""
    joined = " ".join(options) if isinstance(options, tuple) else options
    found = re.search(r"search_path\s*=\s*([^\s,]+)", joined)
    return found.group(1) if found else None


def pg_dump_command(url: str, dest: Path) -> list[str]:
    parsed = normalize_url(url)
    schema = _schema(parsed)
    return [
        "pg_dump",
        "--format=custom",
        f"--file={dest}",
        *([f"--schema={schema}"] if schema else []),
        f"--dbname={_libpq(parsed)}",
    ]


def pg_restore_command(url: str, backup: Path) -> list[str]:
    parsed = normalize_url(url)
    # --clean --if-exists: a database that was only migrated (no incidents) takes it too
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        f"--dbname={_libpq(parsed)}",
        str(backup),
    ]
