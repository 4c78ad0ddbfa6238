"""POST /api/v1/intake/{kind}: alarms and customer posts come in here.

Alarm posts are parsed, checked, and their alerts upserted through the group committer; the
answer (202) comes once they are durable. The worker decides what they mean. A batch with
some bad alerts keeps the good ones and names the rejected ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2 as httpx
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from escalator.api.flood import FloodGate
from escalator.api.group_commit import GroupCommitter
from escalator.api.problems import MEDIA_TYPE, problem
from escalator.app import Services
from escalator.domain.alerts import AlertIn
from escalator.integrations.inbound import alertmanager, changes, cloudwatch, forum, generic, sns
from escalator.integrations.inbound.alertmanager import Batch
from escalator.integrations.inbound.common import JsonError, PayloadError, load_json
from escalator.process.alert import customer, intake, subscriptions
from escalator.process.core import integrations
from escalator.process.core.integrations import KINDS, Caller
from escalator.process.core.secrets import digest
from escalator.process.remediate import changes as change_events
from escalator.store.upsert import upsert_alerts

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])
T = TypeVar("T")

JSON_TYPES = ("application/json",)
SNS_TYPES = ("text/plain", "application/json")
_PROBLEMS = {
    code: {"description": text, "content": {MEDIA_TYPE: {}}}
    for code, text in {
        400: "malformed JSON, or JSON nested too deeply",
        401: "missing or wrong integration secret",
        403: "secret of another kind, or a bad signature",
        404: "unknown kind",
        413: "body over the size limit",
        415: "wrong content type",
        422: "a payload, or every alert in it, that cannot be used",
        429: "this integration is over its rate limit; retry after Retry-After seconds",
    }.items()
}


class Intake:
    """Per-app intake state: the group committer, the integration cache, the SNS verifier.

    The cache only remembers secrets that worked, for a few seconds, to spare the database a
    lookup per post. It is not trusted with revocation: the transaction that stores a post
    checks that its integration is still live (see ``group_commit``).
    """

    def __init__(self, svc: Services, *, cache_seconds: float = 5.0) -> None:
        self.svc = svc
        self.committer = GroupCommitter(svc.db, upsert_alerts, integrations.live)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=10)
        self.sns = sns.Verifier(svc.settings.sns_cert_url_pattern, self._fetch)

    def _fetch(self, url: str) -> bytes:
        response = self._http.get(url)
        response.raise_for_status()
        return response.content

    def caller(self, secret: str) -> Caller | None:
        key = digest(secret)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and hit[1] > now:
            return hit[0]
        with self.svc.db.read() as session:
            found = integrations.authenticate(session, secret)
        if found is not None:  # a miss is not remembered: the secret may be minutes old
            with self._lock:
                self._cache[key] = (found, now + self.cache_seconds)
        return found

    def forget(self, integration: int | None = None) -> None:
        """Drop cached secrets: of one integration, or all."""
        with self._lock:
            for key, (caller, _) in list(self._cache.items()):
                if integration is None or caller.id == integration:
                    del self._cache[key]

    def close(self) -> None:
        self.committer.close()
        self._http.close()


def _secret(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or user
    return request.query_params.get("token")


def _content_type_ok(request: Request, allowed: tuple[str, ...]) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media in allowed


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return load_json(raw)
    except JsonError as exc:
        raise HTTPException(400, str(exc)) from exc


def _invalid(exc: PayloadError) -> JSONResponse:
    return problem(
        422, "Invalid payload", str(exc), errors=[{"field": exc.field, "reason": exc.reason}]
    )


@router.post("/{kind}", status_code=202, responses=_PROBLEMS)
async def receive(kind: str, request: Request) -> Response:
    """Take alarms (alertmanager, grafana, cloudwatch, generic), forum posts (forum) or
    change events (changes: PagerDuty's Change Events v2 body as is, or Unleash's
    feature-environment-enabled/-disabled webhook events).

    Authenticate with the integration's secret as `Authorization: Bearer …`, as the password of
    HTTP basic auth, or as `?token=…`.
    """
    if kind not in KINDS:
        raise HTTPException(404, f"no intake kind {kind!r}; kinds are {', '.join(KINDS)}")
    state: Intake = request.app.state.intake
    svc = state.svc
    secret = _secret(request)
    if not secret:
        raise HTTPException(
            401,
            "send the integration's secret (Bearer, basic auth or ?token=); "
            "create one with `escalator integration add KIND --name NAME`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = state.caller(secret)
    if caller is None:
        raise _revoked()
    if caller.kind != kind:
        raise HTTPException(
            403,
            f"this secret belongs to the {caller.kind} integration {caller.name!r}; "
            f"post to /api/v1/intake/{caller.kind}",
        )
    flood: FloodGate = request.app.state.flood
    if (refused := flood.refuse(caller)) is not None:
        return refused
    allowed = SNS_TYPES if kind == "cloudwatch" else JSON_TYPES
    if not _content_type_ok(request, allowed):
        return problem(415, "Unsupported media type", f"send Content-Type: {' or '.join(allowed)}")
    raw = await _body(request, svc.settings.intake_max_bytes)
    if kind == "grafana" and svc.settings.grafana_webhook_secret:
        _check_hmac(
            svc.settings.grafana_webhook_secret.get_secret_value(),
            raw,
            request.headers.get("x-grafana-alerting-signature"),
            "X-Grafana-Alerting-Signature",
        )
    if (
        kind == "forum"
        and request.headers.get("x-discourse-event")
        and svc.settings.discourse_webhook_secret
    ) and not forum.verify_discourse(
        svc.settings.discourse_webhook_secret.get_secret_value(),
        raw,
        request.headers.get("x-discourse-event-signature"),
    ):
        raise HTTPException(403, "X-Discourse-Event-Signature does not match the body")
    body = _json(raw)
    try:
        if kind == "forum":
            return await _forum(state, caller, request, body)
        if kind == "cloudwatch":
            return await _cloudwatch(state, caller, request, body)
        if kind == "changes":
            return await _change(state, caller, changes.parse(body))
        parse = generic.parse if kind == "generic" else alertmanager.parse
        batch = parse(body, source=kind)
    except PayloadError as exc:
        return _invalid(exc)
    return await _store(state, caller, batch)


def _check_hmac(secret: str, raw: bytes, header: str | None, name: str) -> None:
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not header or not hmac.compare_digest(expected, header.strip().lower()):
        raise HTTPException(403, f"{name} is missing or does not match the body")


async def _store(state: Intake, caller: Caller, batch: Batch) -> Response:
    rejected = [{"index": r.index, "reason": r.reason} for r in batch.rejected]
    if not batch.alerts and rejected:
        return problem(
            422, "No usable alert", f"all {len(rejected)} alerts were rejected", rejected=rejected
        )
    await _save(state, caller, batch.alerts)
    return JSONResponse(
        {"accepted": len(batch.alerts), "rejected": rejected, "truncated": batch.truncated},
        status_code=202,
    )


async def _save(state: Intake, caller: Caller, alerts: list[AlertIn]) -> None:
    svc = state.svc
    rows = intake.alert_rows(
        alerts,
        integration_id=caller.id,
        group_by=svc.process.spec.intake.group_by,
        now=svc.clock.now(),
    )
    try:
        await state.committer.submit(rows, caller.id)
    except integrations.Revoked as exc:
        state.forget(caller.id)
        raise _revoked() from exc


def _revoked() -> HTTPException:
    return HTTPException(
        401, "the integration secret is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
    )


async def _cloudwatch(state: Intake, caller: Caller, request: Request, body: Any) -> Response:
    message = sns.envelope(body)
    try:
        await run_in_threadpool(state.sns.verify, message)
    except sns.SignatureError as exc:
        return problem(403, "Bad SNS signature", str(exc))
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        url = message["SubscribeURL"]
        if not state.sns.trusted_url(url):
            return problem(403, "Untrusted SubscribeURL", f"{url!r} is not an SNS address")

        def confirm() -> None:
            with state.svc.unit_of_work(caller.actor) as ctx:
                integrations.require_live(ctx, caller)
                subscriptions.confirm_sns(
                    ctx,
                    subscribe_url=url,
                    topic_arn=message["TopicArn"],
                    message_id=message["MessageId"],
                )

        await _as(state, caller, confirm)
        return JSONResponse(
            {"subscription": "confirming", "topic": message["TopicArn"]}, status_code=202
        )
    if kind == "UnsubscribeConfirmation":
        return JSONResponse(
            {"subscription": "unsubscribed", "topic": message["TopicArn"]}, status_code=202
        )
    alarm = cloudwatch.parse_alarm(message["Message"], topic_arn=message["TopicArn"])
    await _save(state, caller, [alarm])
    return JSONResponse(
        {"accepted": 1, "rejected": [], "status": alarm.status.value}, status_code=202
    )


async def _forum(state: Intake, caller: Caller, request: Request, body: Any) -> Response:
    event = request.headers.get("x-discourse-event")
    if event:
        instance = request.headers.get("x-discourse-instance", "").rstrip("/")
        post = forum.parse_discourse(event, body, base_url=instance)
        source = f"discourse:{instance}"
    else:
        post = forum.parse_generic(body)
        source = f"forum:{caller.name}"
    if post is None:
        return JSONResponse({"ignored": event}, status_code=202)
    own = state.svc.settings.discourse_api_username
    if event and own and post.author.lower() == own.lower():  # our own update, posted back
        return JSONResponse({"ignored": "our own post"}, status_code=202)

    def take() -> str:
        with state.svc.unit_of_work(caller.actor) as ctx:
            integrations.require_live(ctx, caller)
            return customer.receive_forum_post(ctx, post, source=source).key

    return JSONResponse({"incident": await _as(state, caller, take)}, status_code=202)


async def _as(state: Intake, caller: Caller, act: Callable[[], T]) -> T:
    """Run ``act`` (a unit of work for ``caller``) off the event loop; a revoked caller is 401."""
    try:
        return await run_in_threadpool(act)
    except integrations.Revoked as exc:
        state.forget(caller.id)
        raise _revoked() from exc


async def _change(state: Intake, caller: Caller, change: changes.ChangeIn) -> Response:
    """A change event, stored with its service; answered as PagerDuty answers (202)."""

    def take() -> int:
        with state.svc.unit_of_work(caller.actor) as ctx:
            integrations.require_live(ctx, caller)
            return change_events.store(ctx, change).id

    stored = await _as(state, caller, take)
    return JSONResponse(
        {"status": "success", "message": "Change event processed", "id": stored},
        status_code=202,
    )
