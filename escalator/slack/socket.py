"""Socket Mode: Slack's requests over a WebSocket the app opens (``slack_sdk``'s
``SocketModeClient`` with the app-level token, ``ESCALATOR_SLACK_APP_TOKEN``), for teams
behind a firewall with no public URL. Slack trusts the connection by the token, so there is no
signature to check; each envelope goes to the same face as the HTTP endpoints, its answer goes
back in the ack (a modal's errors, a slash command's reply), and a click's work runs after
the ack, as over HTTP."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from escalator.app import Services
from escalator.slack.face import Answer, SlackFace

log = logging.getLogger("escalator.slack.socket")


def answer(face: SlackFace, request: SocketModeRequest) -> Answer:
    """What an envelope means: interactivity and slash commands; anything else is acked."""
    payload: Any = request.payload
    if not isinstance(payload, dict):
        return Answer()
    if request.type == "interactive":
        return face.interactive(payload)
    if request.type == "slash_commands":
        return face.command({str(k): str(v) for k, v in payload.items()})
    return Answer()


def client(svc: Services, *, ping_interval: float = 5) -> SocketModeClient:
    """A Socket Mode client serving the face; ``connect()`` it, ``close()`` it at the end."""
    app_token = svc.settings.slack_app_token
    if app_token is None:
        raise ValueError("Socket Mode needs ESCALATOR_SLACK_APP_TOKEN (an xapp-… app token)")
    bot = svc.settings.slack_bot_token
    web = WebClient(
        token=bot.get_secret_value() if bot else None,
        base_url=svc.settings.slack_api_url,
        timeout=5,
    )
    face = SlackFace(svc, web)
    socket = SocketModeClient(
        app_token=app_token.get_secret_value(),
        web_client=web,
        ping_interval=ping_interval,
        logger=log,
    )

    def listener(socket: SocketModeClient, request: SocketModeRequest) -> None:
        try:
            said = answer(face, request)
        except Exception:  # the ack still goes: Slack would retry, and show the user an error
            log.exception("a Slack %s envelope failed", request.type)
            said = Answer()
        socket.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=said.body)
        )
        if said.later is not None:
            try:
                said.later()
            except Exception:
                log.exception("the work of a Slack %s envelope failed", request.type)

    socket.socket_mode_request_listeners.append(listener)
    return socket


def serve(svc: Services, stop: threading.Event, *, retry_seconds: float = 30) -> None:
    """Connected until ``stop`` is set. A connection that cannot be made (Slack unreachable, a
    refused token) is tried again every ``retry_seconds``; once connected, the client
    reconnects by itself when Slack asks it to or the connection drops."""
    socket = client(svc)
    try:
        while not stop.is_set():
            try:
                socket.connect()
            except Exception as exc:  # SlackApiError, OSError, a bad handshake: all the same
                log.warning("Socket Mode: could not connect (%s); trying again", exc)
                stop.wait(retry_seconds)
                continue
            log.info("connected to Slack in Socket Mode")
            stop.wait()
    finally:
        socket.close()


def start(svc: Services, stop: threading.Event) -> threading.Thread:
    """Socket Mode inside ``escalator serve`` when ``ESCALATOR_SLACK_APP_TOKEN`` is set."""
    thread = threading.Thread(
        target=serve, args=(svc, stop), name="escalator-slack-socket", daemon=True
    )
    thread.start()
    return thread
