"""A fake Discourse speaking ../shared/wire/discourse.md: ``POST /posts.json`` as a bot
(``Api-Key``/``Api-Username``; 200 with the post, 422 ``create_post`` errors, 403
``invalid_access``, 404 for an unknown topic, 429 with ``Retry-After``), and the reads a
careful client makes before posting again (``GET /t/{id}.json``, ``GET /t/{id}/posts.json``).

``faults`` are replies given instead of serving; ``lose_answers`` serves the next N posts but
answers 502, as if the answer was lost on the way back.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http import FakeServer, Reply, Request

WIRE = Path(__file__).parent.parent / "wire"
API_KEY = "d1c0ffee" * 8
USERNAME = "escalator-bot"
_TOPIC = re.compile(r"^/t/(\d+)(/posts)?\.json$")


class FakeDiscourse:
    def __init__(self, topics: tuple[int, ...] = (15,)) -> None:
        self.posts: dict[int, list[dict[str, Any]]] = {t: [] for t in topics}
        self.faults: list[Reply] = []
        self.lose_answers = 0
        self._ids = itertools.count(100)
        self._template = json.loads((WIRE / "discourse_post_create_response.json").read_text())
        self.server = FakeServer(self._handle)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def _handle(self, request: Request) -> Reply:
        if request.headers.get("api-key") != API_KEY or not request.headers.get("api-username"):
            return Reply.json(
                403,
                {
                    "errors": [
                        "You are not permitted to view the requested resource. The API "
                        "username or key is invalid."
                    ],
                    "error_type": "invalid_access",
                },
            )
        if self.faults:
            return self.faults.pop(0)
        if request.method == "POST" and request.path in ("/posts.json", "/posts"):
            return self._create(request)
        match = _TOPIC.match(request.path)
        if request.method == "GET" and match:
            return self._read(int(match.group(1)), bool(match.group(2)), request.query)
        return Reply.json(404, {"errors": ["not found"], "error_type": "not_found"})

    def _create(self, request: Request) -> Reply:
        if "json" in request.headers.get("content-type", ""):
            body = request.json()
        else:
            body = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        topic, raw = int(body.get("topic_id", 0)), str(body.get("raw", ""))
        if topic not in self.posts:
            return Reply.json(
                404,
                {
                    "errors": ["The requested URL or resource could not be found."],
                    "error_type": "not_found",
                },
            )
        if len(raw.strip()) < 20:
            return Reply.json(
                422,
                {
                    "action": "create_post",
                    "errors": ["Body is too short (minimum is 20 characters)"],
                },
            )
        post = {
            **self._template,
            "id": next(self._ids),
            "username": request.headers["api-username"],
            "topic_id": topic,
            "post_number": len(self.posts[topic]) + 2,
            "raw": raw,
            "cooked": f"<p>{raw}</p>",
        }
        self.posts[topic].append(post)
        if self.lose_answers:
            self.lose_answers -= 1
            return Reply(502, b"Bad Gateway")
        return Reply.json(200, {k: v for k, v in post.items() if k != "raw"})

    def _read(self, topic: int, specific: bool, query: dict[str, list[str]]) -> Reply:
        if topic not in self.posts:
            return Reply.json(404, {"errors": ["not found"], "error_type": "not_found"})
        raw = query.get("include_raw", [""])[0] == "true"
        posts = [
            p if raw else {k: v for k, v in p.items() if k != "raw"} for p in self.posts[topic]
        ]
        if specific:
            wanted = {int(i) for i in query.get("post_ids[]", [])}
            return Reply.json(
                200, {"post_stream": {"posts": [p for p in posts if p["id"] in wanted]}}
            )
        # like Discourse: the first posts of the topic, and the ids of all of them
        return Reply.json(
            200,
            {"id": topic, "post_stream": {"posts": posts[:2], "stream": [p["id"] for p in posts]}},
        )
