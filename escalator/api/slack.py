"""/api/v1/slack/…: Slack's interactivity (buttons, selects, modal submits) and the
``/escalator`` slash command, over HTTP. Every request's v0 signature is checked against
``ESCALATOR_SLACK_SIGNING_SECRET`` over the raw body, within five minutes; anything else is a
401 and changes nothing. The answer leaves at once; a click's work runs after it
(``BackgroundTasks``), since Slack wants an answer within 3 seconds."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from escalator.api.deps import ServicesDep
from escalator.api.problems import MEDIA_TYPE
from escalator.app import Services
from escalator.slack import signing
from escalator.slack.face import Answer, SlackFace

router = APIRouter(prefix="/api/v1/slack", tags=["slack"])
MAX_BODY = 1_000_000  # a view with its blocks is at most 250 kB; a message's payload less

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {MEDIA_TYPE: {}}}
    for code, text in {
        400: "not a Slack request body (form fields; interactivity's one `payload` of JSON)",
        401: "missing, forged or stale signature (older than 5 minutes), or no signing secret",
        413: "body over the size limit",
    }.items()
}
_FORM = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }
    }
}


_made = threading.Lock()


def face_of(request: Request, svc: Services) -> SlackFace:
    with _made:
        face: SlackFace | None = getattr(request.app.state, "slack", None)
        if face is None:
            face = request.app.state.slack = SlackFace(svc)
        return face


def _replays(request: Request) -> signing.Replays:
    with _made:
        replays: signing.Replays | None = getattr(request.app.state, "slack_replays", None)
        if replays is None:
            replays = request.app.state.slack_replays = signing.Replays()
        return replays


async def _signed_form(request: Request, svc: Services) -> dict[str, str]:
    secret = svc.settings.slack_signing_secret
    if secret is None:
        raise HTTPException(
            401,
            "Slack requests are refused: set ESCALATOR_SLACK_SIGNING_SECRET (the app's "
            "signing secret, under Basic Information in Slack's app settings)",
        )
    declared = request.headers.get("content-length", "0")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"a Slack request is at most {MAX_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"a Slack request is at most {MAX_BODY} bytes")
    now = svc.clock.now().timestamp
    if not signing.verified(secret.get_secret_value(), body, request.headers, now):
        raise HTTPException(401, "the Slack signature is missing, wrong or older than 5 minutes")
    if not _replays(request).first(request.headers["x-slack-signature"], now()):
        raise HTTPException(401, "this Slack request was received before: a replay is refused")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "the body is not UTF-8 form fields") from exc
    return {name: values[0] for name, values in fields.items() if values}


def _answer(answer: Answer, background: BackgroundTasks) -> Response:
    if answer.later is not None:
        background.add_task(answer.later)
    if answer.body is None:
        return Response(status_code=200)
    return JSONResponse(answer.body)


@router.post("/actions", responses=ERRORS, openapi_extra=_FORM)
async def actions(request: Request, svc: ServicesDep, background: BackgroundTasks) -> Response:
    """Slack's interactivity request URL: ``block_actions`` (the root message's buttons,
    a page's Acknowledge) and ``view_submission`` (the triage, update, to-council and
    council-decision modals)."""
    form = await _signed_form(request, svc)
    try:
        payload = json.loads(form.get("payload", ""))
    except (ValueError, RecursionError) as exc:
        raise HTTPException(
            400, "an interactivity request carries one field, payload=<JSON>"
        ) from exc
    if not isinstance(payload, dict):
        raise HTTPException(400, "the payload is not a JSON object")
    answer = await run_in_threadpool(face_of(request, svc).interactive, payload)
    return _answer(answer, background)


@router.post("/commands", responses=ERRORS, openapi_extra=_FORM)
async def commands(request: Request, svc: ServicesDep, background: BackgroundTasks) -> Response:
    """Slack's slash command request URL: ``/escalator report|oncall|mine|status``."""
    form = await _signed_form(request, svc)
    answer = await run_in_threadpool(face_of(request, svc).command, form)
    return _answer(answer, background)
