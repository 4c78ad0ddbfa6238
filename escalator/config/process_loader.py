"""Read a process file into a :class:`Process`, or say exactly what to fix.

Problems carry the file, the line and the fix. YAML is composed into nodes first so that
every key and value keeps its line; pydantic's error locations are then mapped back to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

import yaml
from jinja2 import Environment, TemplateSyntaxError
from pydantic import ValidationError

from escalator.config.playbook_loader import PlaybookError, load_playbooks
from escalator.config.process import Process
from escalator.config.process_schema import Path, ProcessFile, cross_check

DEFAULT_PROCESS = "default-process.yaml"


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProcessFileError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{count} problem{'s' * (count != 1)} in the process file:\n{lines}")


def default_process_text() -> str:
    return resources.files("escalator.defaults").joinpath(DEFAULT_PROCESS).read_text("utf-8")


def load_process(path: FsPath | str | None = None) -> Process:
    """Load ``path`` (or the packaged default process) and the playbooks it names."""
    if path is None:
        base = FsPath(str(resources.files("escalator.defaults")))
        return parse_process(
            default_process_text(), filename=f"<default {DEFAULT_PROCESS}>", base_dir=base
        )
    file = FsPath(path)
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise ProcessFileError(
            [Problem(str(file), 0, "", f"cannot read the file: {exc.strerror or exc}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise ProcessFileError([Problem(str(file), 0, "", "the file is not UTF-8 text")]) from exc
    return parse_process(text, filename=str(file), base_dir=file.parent)


def parse_process(
    text: str, *, filename: str = "<process>", base_dir: FsPath | None = None
) -> Process:
    """Parse a process file; with ``base_dir``, also load the playbooks it names."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)  # can still fail: unknown tags such as "!0"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        reason = getattr(exc, "problem", None) or str(exc)
        raise ProcessFileError(
            [Problem(filename, line, "", f"not valid YAML: {reason}; fix the syntax here")]
        ) from exc
    if root is None:
        raise ProcessFileError(
            [Problem(filename, 1, "", "the file is empty: start with version: 1")]
        )
    lines: dict[Path, int] = {}
    duplicates: list[tuple[Path, str]] = []
    _index(root, (), lines, duplicates)
    found: list[tuple[Path, str]] = list(duplicates)
    model: ProcessFile | None = None
    try:
        model = ProcessFile.model_validate(raw)
    except ValidationError as exc:
        found.extend(_pydantic_problems(exc))
    found.extend(cross_check(raw))
    if found:
        problems = {
            Problem(filename, _line_of(path, lines), _dotted(path), msg) for path, msg in found
        }
        raise ProcessFileError(sorted(problems))
    assert model is not None
    entries = []
    named = model.playbooks.directory
    directory = None
    if base_dir is not None and (named or (base_dir / "playbooks").is_dir()):
        directory = base_dir / (named or "playbooks")
        if not directory.is_dir():
            packaged = resources.files("escalator.defaults") / "playbooks"
            where: Path = ("playbooks", "directory")
            raise ProcessFileError(
                [
                    Problem(
                        filename,
                        _line_of(where, lines),
                        _dotted(where),
                        f"no playbook directory {directory} (relative paths are read from the "
                        "process file's folder): copy the default process file together with "
                        f"its playbooks folder (cp -r {packaged} {directory}), or set "
                        "playbooks.directory to a folder of playbook entries",
                    )
                ]
            )
        try:
            entries = load_playbooks(directory)
        except PlaybookError as exc:
            raise ProcessFileError([Problem(f, n, "", m) for f, n, m in exc.problems]) from exc
    if base_dir is not None:
        bad = check_templates(base_dir, model.communication.templates)
        if bad:
            key: Path = ("communication", "templates")
            raise ProcessFileError(
                [
                    Problem(f, n, "", m)
                    if f
                    else Problem(filename, _line_of(key, lines), _dotted(key), m)
                    for f, n, m in bad
                ]
            )
    return Process(model, playbooks=entries, playbooks_dir=directory, base_dir=base_dir)


def check_templates(base_dir: FsPath, named: str | None) -> list[tuple[str, int, str]]:
    """Update templates that would fail when drafting: a directory named but missing, or a
    template that does not parse (file, line, what to fix)."""
    folder = base_dir / (named or "templates")
    if not folder.is_dir():
        if named:
            return [("", 0, f"no directory {folder}: create it, or remove the key")]
        return []
    problems = []
    checker = Environment()
    for file in sorted(folder.iterdir()):
        if file.suffix not in (".txt", ".html"):
            continue
        try:
            checker.parse(file.read_text("utf-8"))
        except TemplateSyntaxError as exc:
            problems.append((str(file), exc.lineno, f"template error: {exc.message}"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((str(file), 0, f"cannot read the template: {exc}"))
    return problems


def _index(
    node: yaml.Node, path: Path, lines: dict[Path, int], dups: list[tuple[Path, str]]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            if key in seen:
                dups.append((child, f"{key!r} is written twice: keep one"))
                lines[child] = key_node.start_mark.line + 1
            seen.add(key)
            lines.setdefault(child, key_node.start_mark.line + 1)
            _index(value_node, child, lines, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines, dups)


def _line_of(path: Path, lines: dict[Path, int]) -> int:
    for cut in range(len(path), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in path[:cut])
        if key in lines:
            return lines[key]
    return 1


def _dotted(path: Path) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def _pydantic_problems(exc: ValidationError) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}: remove it or check its spelling"
        elif kind == "missing":
            msg = f"missing key {loc[-1]!r}: add it"
        elif kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            msg = f"{err['input']!r} is not allowed here: write one of {expected}"
        elif kind == "string_pattern_mismatch":
            msg = f"{err['input']!r} is not in the expected form ({err['ctx']['pattern']})"
        elif kind == "value_error":
            msg = str(err["ctx"]["error"])
        else:
            msg = err["msg"]
        out.append((loc, msg))
    return out
