"""A fake JIRA Server (REST API v2, ../shared/wire/jira.md) enough for the pycontribs client:
serverInfo, field, search, create, comment, transitions, remote links; issue link types and
issue links; Jira Software's Agile API (a project's boards, a board's sprints, moving issues
into a sprint: only an active or future one). ``slow_creates`` makes the next creates store
the issue and then answer too late, as a timeout after acceptance."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from tests.fakes.http import FakeServer, Reply, Request

WIRE = Path(__file__).parents[1] / "wire"
USER, TOKEN = "escalator@example.com", "jira-api-token"


class FakeJira:
    def __init__(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[str]] = {}
        self.links: dict[str, list[dict[str, Any]]] = {}
        self.creates = 0
        # Agile: board id -> (project, name, type); sprint id -> sprint; sprint id -> issues
        self.boards: dict[int, tuple[str, str, str]] = {84: ("ENG", "ENG board", "scrum")}
        self.sprints: dict[int, dict[str, Any]] = {}
        self.in_sprint: dict[int, list[str]] = {}
        self.issue_links: list[dict[str, Any]] = []
        self.slow_creates = 0
        self.delay = 0.0
        self.faults: list[Reply] = []
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle, threaded_handler=True)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            if self.faults:
                return self.faults.pop(0)
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply.json(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
        path = request.path
        if path == "/rest/api/2/serverInfo":
            return Reply(
                200,
                (WIRE / "jira_serverinfo_server.json").read_bytes(),
                {"Content-Type": "application/json"},
            )
        if path == "/rest/api/2/field":
            return Reply.json(
                200,
                [
                    {
                        "id": "summary",
                        "name": "Summary",
                        "custom": False,
                        "clauseNames": ["summary"],
                        "schema": {"type": "string"},
                    },
                    {
                        "id": "labels",
                        "name": "Labels",
                        "custom": False,
                        "clauseNames": ["labels"],
                        "schema": {"type": "array", "items": "string"},
                    },
                ],
            )
        if path.startswith("/rest/agile/1.0/"):
            return self._agile(request, path)
        if path == "/rest/api/2/issueLinkType":
            return Reply(
                200,
                (WIRE / "jira_issuelinktypes_response.json").read_bytes(),
                {"Content-Type": "application/json"},
            )
        if path == "/rest/api/2/issueLink" and request.method == "POST":
            body = request.json()
            keys = (body["inwardIssue"]["key"], body["outwardIssue"]["key"])
            if any(k not in self.issues for k in keys):
                return Reply.json(404, {"errorMessages": ["Issue does not exist"], "errors": {}})
            self.issue_links.append(body)
            return Reply(201)
        if path == "/rest/api/2/search":
            return self._search(request.query.get("jql", [""])[0])
        if path == "/rest/api/2/issue" and request.method == "POST":
            return self._create(request.json())
        found = re.match(r"^/rest/api/2/issue/([A-Z]+-\d+)(/\w+)?$", path)
        if not found or found.group(1) not in self.issues:
            return Reply.json(
                404,
                {
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ],
                    "errors": {},
                },
            )
        key, rest = found.group(1), found.group(2) or ""
        if rest == "/comment" and request.method == "POST":
            body = request.json()["body"]
            self.comments.setdefault(key, []).append(body)
            return Reply.json(
                201,
                {
                    "id": str(len(self.comments[key])),
                    "body": body,
                    "self": f"{self.url}/rest/api/2/issue/{key}/comment",
                },
            )
        if rest == "/transitions" and request.method == "GET":
            return Reply(
                200,
                (WIRE / "jira_transitions_response.json").read_bytes(),
                {"Content-Type": "application/json"},
            )
        if rest == "/transitions" and request.method == "POST":
            transition = request.json()["transition"]["id"]
            self.issues[key]["fields"]["status"] = {
                "name": {"21": "In Progress", "31": "Done"}[str(transition)]
            }
            comment = request.json().get("update", {}).get("comment")
            if comment:
                self.comments.setdefault(key, []).append(comment[0]["add"]["body"])
            return Reply(204)
        if rest == "/remotelink" and request.method == "POST":
            self.links.setdefault(key, []).append(request.json()["object"])
            return Reply.json(
                201,
                {
                    "id": len(self.links[key]),
                    "self": f"{self.url}/rest/api/2/issue/{key}/remotelink",
                },
            )
        if not rest and request.method == "GET":
            return Reply.json(200, self.issues[key])
        return Reply(405)

    def _search(self, jql: str) -> Reply:
        label = re.search(r'labels = "([^"]+)"', jql)
        hits = [
            i for i in self.issues.values() if label and label.group(1) in i["fields"]["labels"]
        ]
        return Reply.json(200, {"startAt": 0, "maxResults": 50, "total": len(hits), "issues": hits})

    def _create(self, body: dict[str, Any]) -> Reply:
        fields = body.get("fields", {})
        errors = {
            f: f"{f} is required." for f in ("summary", "project", "issuetype") if not fields.get(f)
        }
        if errors:
            return Reply.json(400, {"errorMessages": [], "errors": errors})
        with self._lock:
            self.creates += 1
            key = f"{fields['project']['key']}-{len(self.issues) + 1}"
            issue_id = str(10000 + len(self.issues))
            self.issues[key] = {
                "id": issue_id,
                "key": key,
                "self": f"{self.url}/rest/api/2/issue/{issue_id}",
                "fields": {
                    **fields,
                    "labels": fields.get("labels", []),
                    "status": {"name": "Open"},
                },
            }
            slow = self.slow_creates > 0
            if slow:
                self.slow_creates -= 1
        if slow:
            time.sleep(self.delay)  # accepted, but the answer comes after the client gave up
        return Reply(
            201,
            json.dumps({"id": issue_id, "key": key, "self": self.issues[key]["self"]}).encode(),
            {"Content-Type": "application/json"},
        )

    def add_sprint(self, sprint_id: int, name: str, state: str, end: str | None = None) -> None:
        sprint: dict[str, Any] = {
            "id": sprint_id,
            "self": f"{self.url}/rest/agile/1.0/sprint/{sprint_id}",
            "state": state,
            "name": name,
            "originBoardId": 84,
        }
        if end:
            sprint["startDate"], sprint["endDate"] = "2026-11-02T09:00:00.000Z", end
        self.sprints[sprint_id] = sprint

    def _page(self, values: list[dict[str, Any]]) -> Reply:
        return Reply.json(
            200,
            {
                "maxResults": 50,
                "startAt": 0,
                "total": len(values),
                "isLast": True,
                "values": values,
            },
        )

    def _agile(self, request: Request, path: str) -> Reply:
        if path == "/rest/agile/1.0/board":
            project = request.query.get("projectKeyOrId", [""])[0]
            return self._page(
                [
                    {"id": i, "self": f"{self.url}/rest/agile/1.0/board/{i}", "name": n, "type": t}
                    for i, (p, n, t) in self.boards.items()
                    if not project or p == project
                ]
            )
        board = re.match(r"^/rest/agile/1.0/board/(\d+)/sprint$", path)
        if board:
            if int(board.group(1)) not in self.boards:
                return Reply.json(404, {"errorMessages": ["Board does not exist"], "errors": {}})
            states = request.query.get("state", ["active,future,closed"])[0].split(",")
            order = {"closed": 0, "active": 1, "future": 2}
            found = sorted(
                (s for s in self.sprints.values() if s["state"] in states),
                key=lambda s: (order[s["state"]], s["id"]),
            )
            return self._page(found)
        moved = re.match(r"^/rest/agile/1.0/sprint/(\d+)/issue$", path)
        if moved and request.method == "POST":
            sprint = self.sprints.get(int(moved.group(1)))
            if sprint is None:
                return Reply.json(404, {"errorMessages": ["Sprint does not exist"], "errors": {}})
            if sprint["state"] == "closed":
                return Reply.json(
                    400,
                    {"errorMessages": ["Cannot move issues into a closed sprint"], "errors": {}},
                )
            issues = request.json()["issues"]
            if len(issues) > 50:
                return Reply.json(400, {"errorMessages": ["At most 50 issues"], "errors": {}})
            for key in issues:
                if key not in self.in_sprint.setdefault(sprint["id"], []):
                    self.in_sprint[sprint["id"]].append(key)
            return Reply(204)
        return Reply.json(404, {"errorMessages": [f"no route {path}"], "errors": {}})
