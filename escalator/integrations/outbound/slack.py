"""Slack through ``slack_sdk``: one root message per incident, updated in place, and a thread.

A root message or reply that is retried is first looked for in the channel (by the message
metadata we attach), so a post whose answer was lost is not made twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure

EVENT_TYPE = "escalator_message"
# answers that retrying cannot fix
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_arguments",
        "too_many_attachments",
        "restricted_action",
    }
)


class SlackSender:
    per_minute = 60  # Slack allows about one message a second per channel
    threads = True  # needs the root message's answer (channel, ts) to update and reply

    def __init__(self, *, token: str, base_url: str, timeout: int = 10) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout)

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        try:
            return self._send(message)
        except SlackApiError as exc:
            raise _failure(exc) from exc
        except OSError as exc:  # connection refused, timeout, DNS: urllib's errors
            raise TemporaryFailure(f"slack unreachable: {exc}") from exc

    def _send(self, message: Outgoing) -> dict[str, Any] | None:
        payload = message.payload
        op = payload.get("op")
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": message.idempotency_key}}
        if op == "root":
            if message.attempt > 1 and (found := self._find(message, message.destination, None)):
                return found
            reply = self.client.chat_postMessage(
                channel=message.destination,
                text=payload.get("text", message.subject),
                blocks=payload.get("blocks"),
                metadata=metadata,
                unfurl_links=False,
            )
            return {"channel": reply["channel"], "ts": reply["ts"]}
        root = message.thread
        if not root or "ts" not in root:
            raise TemporaryFailure(
                "the incident's root Slack message is not posted yet", message_only=True
            )
        if op == "update":
            self.client.chat_update(
                channel=root["channel"],
                ts=root["ts"],
                text=payload.get("text", message.subject),
                blocks=payload.get("blocks"),
            )
            return {}
        if op == "reply":
            if message.attempt > 1 and (found := self._find(message, root["channel"], root["ts"])):
                return found
            reply = self.client.chat_postMessage(
                channel=root["channel"],
                thread_ts=root["ts"],
                text=payload.get("text", message.subject),
                metadata=metadata,
            )
            return {"channel": reply["channel"], "ts": reply["ts"]}
        raise PermanentFailure(f"unknown Slack operation {op!r}")

    def _find(
        self, message: Outgoing, channel: str, thread_ts: str | None
    ) -> dict[str, Any] | None:
        """An earlier attempt's message, if Slack has it (needs the history scope; else None)."""
        try:
            if thread_ts:
                found = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                found = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=100
                )
        except (SlackApiError, OSError):
            return None
        for item in found.get("messages", []) or []:
            meta = item.get("metadata") or {}
            if meta.get("event_payload", {}).get("key") == message.idempotency_key:
                return {"channel": found.get("channel", channel), "ts": item.get("ts")}
        return None


def _failure(exc: SlackApiError) -> Exception:
    response = exc.response
    status = response.status_code
    error = response.get("error", "") if isinstance(response.data, dict) else ""
    if status == 429 or error in ("ratelimited", "rate_limited"):
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        value = headers.get("retry-after")
        seconds = value[0] if isinstance(value, list) else value
        after = timedelta(seconds=int(seconds)) if str(seconds or "").isdigit() else None
        return TemporaryFailure(f"slack rate limited (429, Retry-After {seconds})", after)
    if status >= 500:
        return TemporaryFailure(f"slack answered HTTP {status}")
    if error in PERMANENT:
        return PermanentFailure(f"slack: {error}")
    return TemporaryFailure(f"slack: {error or f'HTTP {status}'}")
