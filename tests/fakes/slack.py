"""A fake Slack speaking the wire format of ../shared/wire/slack.md. Its Web API serves
chat.postMessage, chat.update, chat.postEphemeral, views.open, conversations.history,
conversations.replies, conversations.list, auth.test and apps.connections.open; and, like
Slack, it sends signed requests to Escalator: a click (``block_actions``), a modal's submit
(``view_submission``) and the slash command, each signed with ``SIGNING_SECRET``.

``faults`` is a queue of replies to give instead of serving (503s, 429s with Retry-After);
a faulted request changes nothing, as with the real service.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from tests.fakes.http import FakeServer, Reply, Request

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the wire file's test vector's secret
SCOPES = "chat:write,commands,channels:history,groups:history,im:write,channels:read"


class Poster(Protocol):  # a TestClient or an httpx.Client
    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Any: ...


def signature(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, timestamp, body),
    }


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None
    metadata: dict[str, Any] | None
    edits: list[str] = field(default_factory=list)


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str


class FakeSlack:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.views: list[dict[str, Any]] = []  # opened with views.open, newest last
        self.channels: list[dict[str, Any]] = []  # what conversations.list answers
        self.scopes = SCOPES
        self.socket_url = ""  # what apps.connections.open answers
        self._triggers = itertools.count(1)
        self.faults: list[Reply] = []
        self.lose_answers = 0  # serve the next N requests but answer 503, as if the reply was lost
        self._ts = itertools.count(1)
        self.server = FakeServer(self._handle)
        self.base_url = f"{self.server.url}/api/"

    def close(self) -> None:
        self.server.close()

    @staticmethod
    def channel_id(name: str) -> str:
        if not name.startswith("#"):
            return name
        return "C" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()

    def fail(self, reply: Reply, times: int) -> None:
        self.faults.extend([reply] * times)

    def roots(self, channel: str | None = None) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.thread_ts is None and (channel is None or m.channel == self.channel_id(channel))
        ]

    def thread(self, root: Message) -> list[Message]:
        return [m for m in self.messages if m.thread_ts == root.ts]

    def _handle(self, request: Request) -> Reply:
        if self.faults:
            return self.faults.pop(0)
        method = request.path.rsplit("/", 1)[-1]
        expected = APP_TOKEN if method == "apps.connections.open" else TOKEN
        if request.headers.get("authorization") != f"Bearer {expected}":
            return Reply.json(200, {"ok": False, "error": "invalid_auth"})
        is_json = request.headers.get("content-type", "").startswith("application/json")
        args = (request.json() if request.body else {}) if is_json else request.form()
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return Reply.json(200, {"ok": False, "error": "unknown_method"})
        answer = handler(args)
        if self.lose_answers and method == "chat.postMessage":
            self.lose_answers -= 1
            return Reply(503, b"upstream timeout")
        if method == "auth.test":
            return Reply.json(200, answer, **{"x-oauth-scopes": self.scopes})
        return Reply.json(200, answer)

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        channel = self.channel_id(args["channel"])
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m.ts == thread_ts and m.channel == channel for m in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        message = Message(
            channel,
            f"1700000000.{next(self._ts):06d}",
            args.get("text", ""),
            args.get("blocks"),
            thread_ts,
            args.get("metadata"),
        )
        self.messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": {"type": "message", "text": message.text, "ts": message.ts},
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        for message in self.messages:
            if message.channel == args.get("channel") and message.ts == args.get("ts"):
                message.edits.append(args.get("text", ""))
                message.text, message.blocks = args.get("text", ""), args.get("blocks")
                return {
                    "ok": True,
                    "channel": message.channel,
                    "ts": message.ts,
                    "text": message.text,
                }
        return {"ok": False, "error": "message_not_found"}

    def _listing(self, messages: list[Message], channel: str) -> dict[str, Any]:
        return {
            "ok": True,
            "channel": channel,
            "messages": [
                {"type": "message", "ts": m.ts, "text": m.text, "metadata": m.metadata}
                for m in reversed(messages)
            ],
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel", ""))
        return self._listing(
            [m for m in self.messages if m.channel == channel and not m.thread_ts], channel
        )

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        ts = args.get("ts")
        return self._listing(
            [m for m in self.messages if m.channel == channel and m.thread_ts == ts], channel
        )

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        self.ephemerals.append(Ephemeral(args["channel"], args["user"], args.get("text", "")))
        return {"ok": True, "message_ts": "1700000000.999999"}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not args.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        opened = {**view, "id": f"V{len(self.views) + 1:08d}", "state": {"values": {}}}
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://escalator-test.slack.com/",
            "team": "Escalator Test",
            "user": "escalator",
            "team_id": "T0TEST",
            "user_id": "U0BOT",
        }

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channels": self.channels, "response_metadata": {"next_cursor": ""}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_url}

    # -- Slack -> Escalator: signed requests -------------------------------------------------

    def ephemerals_to(self, user: str) -> list[str]:
        return [e.text for e in self.ephemerals if e.user == user]

    def click(
        self,
        app: Poster,
        *,
        user: str,
        action_id: str,
        value: str = "",
        message: Message | None = None,
        selected: str | None = None,
        timestamp: int,
        secret: str = SIGNING_SECRET,
    ) -> Any:
        """A button (or select) on ``message`` clicked by ``user``: a signed block_actions."""
        block = next(
            (
                b.get("block_id", "")
                for b in (message.blocks or [] if message else [])
                if b.get("type") == "actions"
                and any(e.get("action_id") == action_id for e in b.get("elements", []))
            ),
            "esc",
        )
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block,
            "type": "static_select" if selected else "button",
            "action_ts": f"{timestamp}.000100",
        }
        if selected:
            action["selected_option"] = {
                "text": {"type": "plain_text", "text": selected},
                "value": selected,
            }
        else:
            action["value"] = value
        channel = message.channel if message else user
        payload = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": "T0TEST",
            },
            "api_app_id": "A0TEST",
            "token": "deprecated",
            "container": {
                "type": "message",
                "message_ts": message.ts if message else "",
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._triggers)}.trigger",
            "team": {"id": "T0TEST", "domain": "escalator-test"},
            "channel": {"id": channel, "name": "channel"},
            "message": {"ts": message.ts, "text": message.text} if message else {},
            "response_url": "https://hooks.slack.com/actions/T0TEST/1/x",
            "actions": [action],
        }
        return self.send(
            app,
            "/api/v1/slack/actions",
            {"payload": json.dumps(payload)},
            timestamp=timestamp,
            secret=secret,
        )

    def submit(
        self,
        app: Poster,
        *,
        user: str,
        view: dict[str, Any],
        values: dict[str, str],
        timestamp: int,
    ) -> Any:
        """``view`` (as opened) submitted by ``user`` with ``values`` by block id: text for a
        text input, the option's value for a select."""
        state: dict[str, Any] = {}
        kinds = {
            b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"
        }
        for block, value in values.items():
            if kinds.get(block) == "static_select":
                state[block] = {
                    "value": {"type": "static_select", "selected_option": {"value": value}}
                }
            else:
                state[block] = {"value": {"type": "plain_text_input", "value": value}}
        payload = {
            "type": "view_submission",
            "team": {"id": "T0TEST", "domain": "escalator-test"},
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": "T0TEST",
            },
            "api_app_id": "A0TEST",
            "token": "deprecated",
            "trigger_id": f"{next(self._triggers)}.trigger",
            "view": {**view, "state": {"values": state}, "hash": "1.abc"},
            "response_urls": [],
        }
        return self.send(
            app, "/api/v1/slack/actions", {"payload": json.dumps(payload)}, timestamp=timestamp
        )

    def command(self, app: Poster, *, user: str, text: str, timestamp: int) -> Any:
        """``/escalator <text>`` typed by ``user``."""
        form = {
            "token": "deprecated",
            "team_id": "T0TEST",
            "team_domain": "escalator-test",
            "channel_id": "C0SUPPORT",
            "channel_name": "support",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/escalator",
            "text": text,
            "api_app_id": "A0TEST",
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0TEST/1/x",
            "trigger_id": f"{next(self._triggers)}.trigger",
        }
        return self.send(app, "/api/v1/slack/commands", form, timestamp=timestamp)

    @staticmethod
    def send(
        app: Poster,
        path: str,
        form: dict[str, str],
        *,
        timestamp: int,
        secret: str = SIGNING_SECRET,
    ) -> Any:
        body = urlencode(form).encode()
        return app.post(path, content=body, headers=signed_headers(body, timestamp, secret))
