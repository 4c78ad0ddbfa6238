"""``escalator backup FILE`` and ``escalator restore FILE``.

Neither needs the process file: a backup must work when the process file does not. The file
written (or the database restored into) is the last line of stdout; on PostgreSQL the
commands to run are printed there instead, and the exit code is 2 since nothing was done.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from escalator.cli.common import err, fail
from escalator.config.settings import Settings
from escalator.store import backup as backups
from escalator.store.backup import REFUSED, BackupError
from escalator.store.db import Database


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 2**10:.0f} KiB"


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup")],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite FILE if it exists")] = False,
) -> None:
    """Back up the database to FILE, safely while Escalator runs (SQLite's online backup).

    On PostgreSQL, print the pg_dump command to run instead and exit with code 2.
    """
    url = Settings().database_url
    try:
        database = backups.sqlite_file(url)
        if database is None:
            err.print(
                "On PostgreSQL, back up with pg_dump (run it yourself; the password comes "
                "from PGPASSWORD or ~/.pgpass):",
                highlight=False,
            )
            print(shlex.join(backups.pg_dump_command(url, file)))
            raise typer.Exit(REFUSED)
        copy = backups.backup_sqlite(database, file, replace=replace)
    except BackupError as exc:
        fail(str(exc), exc.code)
    held = f"{backups.incidents(copy.incidents)} (schema {copy.revision}, {_size(copy.size)})"
    err.print(
        f"Backed up {held} from {database}; the copy passed its integrity check.",
        highlight=False,
    )
    print(copy.path)


def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `escalator backup`")],
) -> None:
    """Restore FILE into an empty database and migrate it to the newest schema.

    Refused (exit code 2) when the database already has incidents. On PostgreSQL, print the
    pg_restore command to run instead and exit with code 2.
    """
    url = Settings().database_url
    try:
        if backups.sqlite_file(url) is None:
            _postgres_restore(url, file)
        found, revision = backups.restore_sqlite(file, url)
    except BackupError as exc:
        fail(str(exc), exc.code)
    database = backups.sqlite_file(url)
    err.print(
        f"Restored {backups.incidents(found.incidents)} from {file} into {database} "
        f"(schema {found.revision} -> {revision}).",
        highlight=False,
    )
    print(database)


def _postgres_restore(url: str, file: Path) -> None:
    db = Database(url)
    try:
        present = backups.incident_count(db)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc.__class__.__name__
        fail(f"cannot read the database to check that it is empty: {reason}")
    finally:
        db.dispose()
    if present:
        raise backups.not_empty("ESCALATOR_DATABASE_URL", present)
    err.print(
        "On PostgreSQL, restore with pg_restore into this empty database, then bring its "
        "schema up to date (run them yourself; the password comes from PGPASSWORD or "
        "~/.pgpass):",
        highlight=False,
    )
    print(shlex.join(backups.pg_restore_command(url, file)))
    print("escalator migrate")
    raise typer.Exit(REFUSED)
