"""A fake Socket Mode server (wire/slack.md §8.5): a local WebSocket that says ``hello``, then
sends envelopes ``{"envelope_id", "payload", "type", "accepts_response_payload"}`` and
collects the app's acks ``{"envelope_id", "payload"?}``. The fake Slack Web API answers
``apps.connections.open`` with its ``ws://`` URL."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

HELLO = {
    "type": "hello",
    "num_connections": 1,
    "debug_info": {"host": "applink-test", "build_number": 10},
    "connection_info": {"app_id": "A0TEST"},
}


class FakeSocketMode:
    def __init__(self) -> None:
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self._outbox: queue.Queue[str | None] = queue.Queue()
        self.server: Server = serve(self._session, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _session(self, ws: ServerConnection) -> None:
        ws.send(json.dumps(HELLO))
        self.connected.set()
        reader = threading.Thread(target=self._read, args=(ws,), daemon=True)
        reader.start()
        while (frame := self._outbox.get()) is not None:
            ws.send(frame)
        ws.close()

    def _read(self, ws: ServerConnection) -> None:
        try:
            for frame in ws:
                self.acks.put(json.loads(frame))
        except ConnectionClosed:
            return

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response: bool = False) -> str:
        """An envelope of ``kind`` (interactive, slash_commands, events_api); its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response,
        }
        self._outbox.put(json.dumps(envelope))
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = 20) -> dict[str, Any]:
        """The app's ack of an envelope (acks may come in any order)."""
        others: list[dict[str, Any]] = []
        try:
            while True:
                got = self.acks.get(timeout=timeout)
                if got.get("envelope_id") == envelope_id:
                    return got
                others.append(got)
        finally:
            for other in others:
                self.acks.put(other)

    def close(self) -> None:
        self._outbox.put(None)
        self.server.shutdown()
        self._thread.join(timeout=5)
