"""What every ``escalator`` command shares: consoles, errors, wiring, the acting person.

A command that creates a secret prints it alone as the last line of stdout; explanations go to
stderr, and so do errors, with a non-zero exit code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from escalator.app import Services, build
from escalator.config.process_loader import ProcessFileError
from escalator.config.settings import Settings
from escalator.domain.lifecycle import IllegalTransition
from escalator.domain.permissions import Forbidden
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.store import migrate as migrations

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

AsPerson = Annotated[
    str,
    typer.Option("--as", envvar="ESCALATOR_AS", help="The person (from the process file) acting."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def services(*, migrate: bool | None = False) -> Services:
    """Wire everything up. ``migrate``: True always, None as ESCALATOR_AUTO_MIGRATE says,
    False never (and then refuse to run on a schema that is not current)."""
    try:
        svc = build(Settings())
    except ProcessFileError as exc:
        fail(str(exc), 2)
    if migrate is None:
        migrate = svc.settings.auto_migrate
    if migrate:
        migrations.upgrade(svc.db)
    elif not migrations.is_at_head(svc.db):
        fail("the database schema is not current: run `escalator migrate` first", 2)
    return svc


@contextmanager
def acting(svc: Services, person: str) -> Iterator[Ctx]:
    """A unit of work as ``person``; use-case errors become clear exits."""
    if svc.process.person(person) is None:
        fail(f"--as {person!r} is not a person in the process file", 2)
    try:
        with svc.unit_of_work(person) as ctx:
            yield ctx
    except (NotFound, InvalidInput, IllegalTransition, Forbidden) as exc:
        fail(str(exc))


@contextmanager
def reading(svc: Services) -> Iterator[Ctx]:
    """A unit of work for commands that only look; use-case errors become clear exits."""
    try:
        with svc.looking("cli") as ctx:
            yield ctx
    except (NotFound, InvalidInput) as exc:
        fail(str(exc))
