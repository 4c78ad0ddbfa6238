"""A fake Slack Web API speaking the wire format of ../shared/wire/slack.md, enough for
chat.postMessage, chat.update, conversations.history and conversations.replies.

``faults`` is a queue of replies to give instead of serving (503s, 429s with Retry-After);
a faulted request changes nothing, as with the real service.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeServer, Reply, Request

TOKEN = "xoxb-test-token"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None
    metadata: dict[str, Any] | None
    edits: list[str] = field(default_factory=list)


class FakeSlack:
    def __init__(self) -> None:
        self.messages: list[Message] = []
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
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply.json(200, {"ok": False, "error": "invalid_auth"})
        method = request.path.rsplit("/", 1)[-1]
        is_json = request.headers.get("content-type", "").startswith("application/json")
        args = request.json() if is_json else request.form()
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return Reply.json(200, {"ok": False, "error": "unknown_method"})
        answer = handler(args)
        if self.lose_answers and method == "chat.postMessage":
            self.lose_answers -= 1
            return Reply(503, b"upstream timeout")
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
