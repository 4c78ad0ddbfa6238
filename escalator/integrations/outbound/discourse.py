"""Replies in a Discourse topic (``POST /posts.json`` as a bot: ``Api-Key``/``Api-Username``).

Discourse answers an identical create within two minutes with the same post, but a retry
may come later than that (a lost answer, a lease that lapsed). So every post carries an
invisible marker with its idempotency key, and a retry first looks for it among the topic's
newest posts (``GET /t/{id}.json``, then ``GET /t/{id}/posts.json`` for the last ones) before
posting again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2 as httpx

from escalator.engine.senders import Outgoing, PermanentFailure, TemporaryFailure

LOOK_BACK = 20  # posts at the end of a topic looked through for an earlier attempt


def marker(idempotency_key: str) -> str:
    """Kept in the post's raw Markdown, invisible once cooked."""
    return f"<!-- escalator:{idempotency_key} -->"


class DiscourseSender:
    per_minute = 50  # below Discourse's default of 60 admin API requests a minute per key

    def __init__(
        self, *, url: str, api_key: str, api_username: str, client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {
            "Api-Key": api_key,
            "Api-Username": api_username,
            "Accept": "application/json",
        }
        self.client = client or httpx.Client(timeout=20)

    def send(self, message: Outgoing) -> dict[str, Any] | None:
        topic = message.payload.get("topic_id", message.destination)
        mark = marker(message.idempotency_key)
        if message.attempt > 1 and (found := self._find(topic, mark)):
            return found
        body = {"topic_id": topic, "raw": f"{message.body}\n\n{mark}"}
        response = self._call("POST", "/posts.json", json=body)
        data = _json(response)
        if response.status_code == 200:
            wrapped = data.get("post")
            post: dict[str, Any] = wrapped if isinstance(wrapped, dict) else data
            if data.get("errors"):
                raise PermanentFailure(f"discourse refused the post: {_errors(data)}")
            if data.get("action") == "enqueued":  # held for a moderator: it will appear
                return {"queued_for_review": True, "topic_id": topic}
            return {
                "post_id": post.get("id"),
                "post_number": post.get("post_number"),
                "topic_id": post.get("topic_id", topic),
            }
        raise _failure(response, data, topic)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, self.url + path, headers=self.headers, **kwargs)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"discourse unreachable: {exc}") from exc

    def _find(self, topic: object, mark: str) -> dict[str, Any] | None:
        """An earlier attempt's post in the topic, if Discourse has it."""
        response = self._call("GET", f"/t/{topic}.json", params={"include_raw": "true"})
        if response.status_code != 200:
            return None
        stream = _json(response).get("post_stream") or {}
        posts = list(stream.get("posts") or [])
        newest = list((stream.get("stream") or [])[-LOOK_BACK:])
        missing = [i for i in newest if i not in {p.get("id") for p in posts}]
        if missing:
            more = self._call(
                "GET",
                f"/t/{topic}/posts.json",
                params=[("include_raw", "true"), *[("post_ids[]", str(i)) for i in missing]],
            )
            if more.status_code == 200:
                posts += (_json(more).get("post_stream") or {}).get("posts") or []
        for post in posts:
            if mark in str(post.get("raw", "")) or mark in str(post.get("cooked", "")):
                return {
                    "post_id": post.get("id"),
                    "post_number": post.get("post_number"),
                    "topic_id": topic,
                }
        return None


def _failure(response: httpx.Response, data: dict[str, Any], topic: object) -> Exception:
    status = response.status_code
    if status == 429:
        after = response.headers.get("retry-after", "")
        wait = (data.get("extras") or {}).get("wait_seconds")
        seconds = int(after) if after.isdigit() else wait if isinstance(wait, int) else None
        return TemporaryFailure(
            f"discourse rate limited (429): {_errors(data) or response.text[:200]}",
            timedelta(seconds=seconds) if seconds is not None else None,
        )
    if status >= 500:
        return TemporaryFailure(f"discourse answered HTTP {status}")
    if 300 <= status < 400:
        return PermanentFailure(
            f"discourse redirected the post (HTTP {status}): check ESCALATOR_DISCOURSE_URL"
        )
    if status == 403:
        return PermanentFailure(
            f"discourse refused the API key or user (403 {data.get('error_type', '')}): check "
            "ESCALATOR_DISCOURSE_API_KEY and ESCALATOR_DISCOURSE_API_USERNAME"
        )
    if status == 404:
        return PermanentFailure(f"discourse has no topic {topic} (404): it may have been deleted")
    return PermanentFailure(
        f"discourse refused the post ({status}): {_errors(data) or response.text[:300]}"
    )


def _errors(data: dict[str, Any]) -> str:
    errors = data.get("errors")
    if isinstance(errors, list):
        return "; ".join(str(e) for e in errors)
    return str(errors or "")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
