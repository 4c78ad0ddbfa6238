"""Support forum posts: Discourse webhooks (``topic_created``, ``post_created``) and a generic
schema for any other forum."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalator.domain.text import first_flaw
from escalator.integrations.inbound.common import PayloadError, clip

DISCOURSE_EVENTS = ("topic_created", "post_created")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class ForumPost:
    thread: str  # the topic or thread id, so later posts join the same incident
    title: str
    text: str
    author: str
    url: str
    starts_thread: bool
    account: str | None = None


def verify_discourse(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Discourse-Event-Signature: sha256=<hex HMAC of the body>``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def parse_discourse(event: str, body: Any, *, base_url: str = "") -> ForumPost | None:
    """A post to act on, or None for events that carry nothing new (e.g. ``ping``)."""
    if event not in DISCOURSE_EVENTS:
        return None
    if len(base_url) > 200:
        raise PayloadError("X-Discourse-Instance", "is longer than 200 characters")
    if not isinstance(body, dict):
        raise PayloadError("body", "expected a Discourse webhook object")
    flawed = first_flaw(body)
    if flawed:
        raise PayloadError(*flawed)
    if event == "topic_created":
        topic = body.get("topic")
        if not isinstance(topic, dict) or not _is_id(topic.get("id")):
            raise PayloadError("topic.id", "missing, or not a whole number from 1 to 2^63-1")
        title = topic.get("title") or topic.get("fancy_title") or "(untitled topic)"
        creator = topic.get("created_by") if isinstance(topic.get("created_by"), dict) else {}
        slug = topic.get("slug") or "-"
        return ForumPost(
            thread=str(topic["id"]),
            title=clip(str(title), 500),
            text="",
            author=str(creator.get("username", "")),
            url=f"{base_url}/t/{slug}/{topic['id']}" if base_url else "",
            starts_thread=True,
        )
    post = body.get("post")
    if not isinstance(post, dict) or not _is_id(post.get("topic_id")):
        raise PayloadError("post.topic_id", "missing, or not a whole number from 1 to 2^63-1")
    number = post.get("post_number")
    slug = post.get("topic_slug") or "-"
    return ForumPost(
        thread=str(post["topic_id"]),
        title=clip(str(post.get("topic_title") or "(untitled topic)"), 500),
        text=str(post.get("raw") or post.get("cooked") or ""),
        author=str(post.get("username", "")),
        url=f"{base_url}/t/{slug}/{post['topic_id']}/{number}" if base_url else "",
        starts_thread=number == 1,
    )


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class GenericForumPost(BaseModel):
    model_config = ConfigDict(extra="forbid")
    thread_id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=50000)
    author: str = Field(default="", max_length=200)
    account: str | None = Field(default=None, max_length=200)
    url: str = Field(default="", max_length=2000)
    first_post: bool = True


def parse_generic(body: Any) -> ForumPost:
    try:
        item = GenericForumPost.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise PayloadError(field, first["msg"]) from exc
    flawed = first_flaw(item.model_dump())
    if flawed:
        raise PayloadError(*flawed)
    return ForumPost(
        thread=item.thread_id,
        title=item.title,
        text=item.body,
        author=item.author,
        url=item.url,
        starts_thread=item.first_post,
        account=item.account,
    )
