"""The loaded process: the validated file plus the questions the rest of the code asks of it."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from escalator.config.playbook_loader import PlaybookError, load_playbooks
from escalator.config.process_schema import Person, ProcessFile
from escalator.domain import cadence, roster
from escalator.domain.accounts import AccountRule
from escalator.domain.playbook import Entry
from escalator.domain.severity import Rule

log = logging.getLogger("escalator.process")


def _stamp(directory: Path | None) -> int | None:
    """When the directory last gained, lost or renamed a file."""
    try:
        return os.stat(directory).st_mtime_ns if directory is not None else None
    except OSError:
        return None


class Process:
    def __init__(
        self,
        spec: ProcessFile,
        *,
        playbooks: list[Entry] | None = None,
        playbooks_dir: Path | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self._playbooks = list(playbooks or [])
        self.playbooks_dir = playbooks_dir
        self._playbooks_stamp = _stamp(playbooks_dir)
        self.base_dir = base_dir  # the process file's directory: templates are read from it
        self.severity_rules = [
            Rule(
                severity=r.severity,
                users_affected_at_least=r.when.users_affected_at_least,
                account_tier=_set(r.when.account_tier),
                user_impact=_set(r.when.user_impact),
                business_impact=_set(r.when.business_impact),
                stakeholder_priority=_set(r.when.stakeholder_priority),
                reason=r.reason,
            )
            for r in spec.severity.rules
        ]
        self._roles_of: dict[str, frozenset[str]] = {}
        for pid in spec.people:
            self._roles_of[pid] = frozenset(
                name for name in spec.roles if pid in self.members(name)
            )

        self.accounts = [
            AccountRule(
                aid,
                a.name,
                a.tier,
                frozenset(d.lower() for d in a.domains),
                frozenset(u.lower() for u in a.forum_users),
            )
            for aid, a in spec.accounts.items()
        ]

    @property
    def playbooks(self) -> list[Entry]:
        """The playbook entries. When the directory has changed since they were read (an
        entry published from a post-mortem, by this process or another), they are read
        again; a directory that no longer loads keeps the entries read before, and says why
        in the log."""
        if self.playbooks_dir is not None and _stamp(self.playbooks_dir) != self._playbooks_stamp:
            try:
                self.reload_playbooks()
            except PlaybookError as exc:
                self._playbooks_stamp = _stamp(self.playbooks_dir)
                log.error("playbooks not reloaded, the ones read before are kept: %s", exc)
        return self._playbooks

    def reload_playbooks(self) -> list[Entry]:
        """Read the playbook directory again; raises PlaybookError (keeping the entries read
        before) when it does not load."""
        if self.playbooks_dir is None:
            return self._playbooks
        stamp = _stamp(self.playbooks_dir)
        self._playbooks = load_playbooks(self.playbooks_dir)
        self._playbooks_stamp = stamp
        return self._playbooks

    def working_hours(self, account: str | None) -> cadence.WorkingHours | None:
        """When an account's update clock runs: its own hours, else the process file's,
        else always (None)."""
        own = self.spec.accounts.get(account or "")
        hours = (own.working_hours if own else None) or self.spec.communication.working_hours
        return hours.rule() if hours else None

    def templates_dir(self) -> Path | None:
        """The directory of the company's own update templates, if it has one."""
        if self.base_dir is None:
            return None
        named = self.spec.communication.templates
        folder = self.base_dir / (named or "templates")
        return folder if folder.is_dir() else None

    def person(self, pid: str) -> Person | None:
        return self.spec.people.get(pid)

    def roles_of(self, pid: str) -> frozenset[str]:
        """Every role the person may act in: held outright or as a member of its rotation."""
        return self._roles_of.get(pid, frozenset())

    def members(self, role: str) -> list[str]:
        spec = self.spec.roles.get(role)
        if spec is None:
            return []
        if spec.rotation:
            return list(self.spec.rotations[spec.rotation].members)
        return list(spec.holders)

    def rotation_of(self, role: str) -> str | None:
        spec = self.spec.roles.get(role)
        return spec.rotation if spec else None

    def roster(self, rotation: str) -> roster.Rotation:
        return self.spec.rotations[rotation].roster()

    def holders_at(self, role: str, at: datetime) -> list[str]:
        """Who holds ``role`` at ``at`` by the file alone: everyone listed, or the rotation's
        turn. Overrides and swaps live in the database: ask ``process.oncall`` for those."""
        spec = self.spec.roles.get(role)
        if spec is None:
            return []
        if spec.rotation:
            who = roster.holder(self.roster(spec.rotation), at)
            return [who] if who else []
        return list(spec.holders)

    def primary(self, role: str, at: datetime) -> str | None:
        holders = self.holders_at(role, at)
        return holders[0] if holders else None


def _set(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)
