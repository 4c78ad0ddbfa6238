"""Tickets in JIRA through the ``jira`` client (REST API v2).

Create is idempotent: the incident's label is searched for first, so a create whose answer
was lost (a timeout after JIRA accepted it) finds the ticket instead of filing a second one.
Comments and the closing transition use the key the create returned (``Outgoing.thread``).
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from jira import JIRA, JIRAError

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure


class JiraSender:
    per_minute = None
    threads = True  # comments and transitions need the created issue's key

    def __init__(
        self, *, url: str, user: str, token: str, issue_type: str = "Task", timeout: float = 10
    ) -> None:
        self.url = url.rstrip("/")
        self.auth = (user, token)
        self.issue_type = issue_type
        self.timeout = timeout
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    def _jira(self) -> JIRA:
        with self._lock:
            if self._client is None:
                # the outbox retries with backoff; the client must not sleep on its own
                self._client = JIRA(
                    server=self.url, basic_auth=self.auth, timeout=self.timeout, max_retries=0
                )
            return self._client

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        try:
            return self._send(message)
        except JIRAError as exc:
            status = exc.status_code or 0
            if status in (0, 429) or status >= 500:
                raise TemporaryFailure(f"jira {status or 'unreachable'}: {exc.text}") from exc
            raise PermanentFailure(f"jira {status}: {exc.text}") from exc
        except requests.RequestException as exc:  # timeouts, refused connections
            raise TemporaryFailure(f"jira unreachable: {type(exc).__name__}") from exc

    def _send(self, message: Outgoing) -> dict[str, Any] | None:
        payload = message.payload
        op = payload.get("op")
        jira = self._jira()
        if op == "create":
            fields = dict(payload["fields"])
            project = fields["project"]["key"]
            found = jira.search_issues(
                f'project = "{project}" AND labels = "{payload["label"]}"', maxResults=1
            )
            if found:
                issue_key = found[0].key
            else:
                fields.setdefault("issuetype", {"name": self.issue_type})
                issue_key = jira.create_issue(fields=fields, prefetch=False).key
                link = payload.get("link")
                if link and link.get("url"):
                    jira.add_simple_link(issue_key, {"url": link["url"], "title": link["title"]})
            return {"key": issue_key, "url": f"{self.url}/browse/{issue_key}"}
        key = (message.thread or {}).get("key")
        if op == "engineering":
            return self._engineering(jira, payload, key)
        if not key:
            raise TemporaryFailure("the ticket is not created in JIRA yet", message_only=True)
        if op == "comment":
            jira.add_comment(key, payload["body"])
            return {"key": key}
        if op == "transition":
            names = {t["name"].lower(): t["id"] for t in jira.transitions(key)}
            wanted = str(payload.get("to", "Done")).lower()
            if wanted not in names:
                raise PermanentFailure(f"jira: {key} has no transition {payload.get('to')!r}")
            jira.transition_issue(key, names[wanted], comment=payload.get("comment") or None)
            return {"key": key}
        raise PermanentFailure(f"unknown JIRA operation {op!r}")

    def _engineering(self, jira: JIRA, payload: dict[str, Any], mct: str | None) -> dict[str, Any]:
        """allocate_long_term: the engineering ticket (found by its label if a lost answer
        made it already), linked to the MCT ticket, moved into the sprint."""
        fields = dict(payload["fields"])
        project = fields["project"]["key"]
        found = jira.search_issues(
            f'project = "{project}" AND labels = "{payload["label"]}"', maxResults=1
        )
        if found:
            key = found[0].key
        else:
            fields.setdefault("issuetype", {"name": self.issue_type})
            key = jira.create_issue(fields=fields, prefetch=False).key
        if mct:
            jira.create_issue_link("Relates", key, mct)
        jira.add_issues_to_sprint(int(payload["sprint_id"]), [key])
        return {"key": key, "url": f"{self.url}/browse/{key}", "mct": mct}

    def find_sprint(self, project: str, name: str) -> dict[str, Any]:
        """The sprint named ``name`` on the project's board (a scrum board first); ValueError
        with the reason when there is none or it is closed."""
        try:
            jira = self._jira()
            boards = jira.boards(projectKeyOrID=project)
            if not boards:
                raise ValueError(f"JIRA has no board for project {project}")
            board = next((b for b in boards if getattr(b, "type", "") == "scrum"), boards[0])
            sprints = jira.sprints(board.id, state="active,future,closed")
        except JIRAError as exc:
            raise ValueError(f"JIRA {exc.status_code}: {exc.text}") from exc
        except requests.RequestException as exc:
            raise ValueError(f"JIRA is unreachable ({type(exc).__name__}): try again") from exc
        named = [s for s in sprints if s.name == name]
        if not named:
            usable = [s.name for s in sprints if s.state in ("active", "future")]
            raise ValueError(
                f"no sprint {name!r} on board {board.name!r} ({project}); open or future "
                f"sprints: {', '.join(usable) or 'none'}"
            )
        sprint = named[-1]
        if sprint.state == "closed":
            raise ValueError(
                f"sprint {name!r} is closed: only an active or future sprint takes new work"
            )
        return {
            "id": sprint.id,
            "name": sprint.name,
            "state": sprint.state,
            "end": getattr(sprint, "endDate", None),
        }
