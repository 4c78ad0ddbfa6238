"""``escalator slack doctor``: is the Slack app set up? The bot token (``auth.test``) and its
scopes, the signing secret or the Socket Mode app token (``apps.connections.open``), the
channels the process file names (the app must be in each), and who has no Slack id."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from escalator.config.process import Process
from escalator.config.settings import Settings

NEEDED = {
    "chat:write": "post the root messages, threads and page DMs",
    "commands": "answer /escalator",
}
WANTED = {
    "channels:history": "find a post whose answer was lost before posting it again",
    "groups:history": "the same in private channels",
    "channels:read": "let this doctor check the channels",
}


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""
    warning: bool = False  # worth knowing, not a failure


def channels_of(process: Process) -> list[str]:
    spec = process.spec
    named = [spec.slack.alerts, spec.slack.support]
    named += [s.slack_channel for s in spec.services.values() if s.slack_channel]
    return list(dict.fromkeys(named))


def check(settings: Settings, process: Process) -> list[Finding]:
    found: list[Finding] = []
    token = settings.slack_bot_token
    if token is None:
        return [
            Finding(
                False,
                "no bot token",
                "set ESCALATOR_SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-…), "
                "under OAuth & Permissions in Slack's app settings",
            )
        ]
    client = WebClient(token=token.get_secret_value(), base_url=settings.slack_api_url, timeout=10)
    try:
        me = client.auth_test()
    except SlackApiError as exc:
        return [
            Finding(
                False,
                f"the bot token is refused: {exc.response.get('error')}",
                "copy the Bot User OAuth Token again, or reinstall the app",
            )
        ]
    except OSError as exc:
        return [Finding(False, f"Slack is unreachable at {settings.slack_api_url}: {exc}")]
    found.append(Finding(True, f"bot token works: @{me.get('user')} in {me.get('team')}"))
    headers = {k.lower(): v for k, v in (me.headers or {}).items()}
    raw = headers.get("x-oauth-scopes", "")
    scopes = {s.strip() for s in (raw[0] if isinstance(raw, list) else raw).split(",") if s}
    for scope, why in NEEDED.items():
        found.append(
            Finding(
                scope in scopes,
                f"scope {scope} ({why})",
                "" if scope in scopes else f"add {scope} under OAuth & Permissions, reinstall",
            )
        )
    for scope, why in WANTED.items():
        if scope not in scopes:
            found.append(
                Finding(
                    False,
                    f"scope {scope} missing ({why})",
                    f"add {scope} and reinstall",
                    warning=True,
                )
            )
    found += _requests(settings, client)
    found += _channels(client, process, "channels:read" in scopes)
    nobody = sorted(pid for pid, p in process.spec.people.items() if not p.slack)
    if nobody:
        found.append(
            Finding(
                False,
                "no Slack id for " + ", ".join(nobody),
                "add `slack: U…` to each under people: (their buttons do nothing, "
                "their pages go by other channels)",
                warning=True,
            )
        )
    return found


def _requests(settings: Settings, client: WebClient) -> list[Finding]:
    """How Slack's requests reach us: signed HTTP, Socket Mode, or both."""
    found: list[Finding] = []
    if settings.slack_signing_secret is not None:
        found.append(
            Finding(
                True,
                "signing secret set: /api/v1/slack/actions and /commands accept signed requests",
            )
        )
    app_token = settings.slack_app_token
    if app_token is not None:
        try:
            client.apps_connections_open(app_token=app_token.get_secret_value())
            found.append(Finding(True, "app token opens a Socket Mode connection"))
        except SlackApiError as exc:
            found.append(
                Finding(
                    False,
                    f"the app token is refused: {exc.response.get('error')}",
                    "make an app-level token with connections:write "
                    "(Basic Information → App-Level Tokens), turn Socket Mode on",
                )
            )
        except OSError as exc:
            found.append(Finding(False, f"Socket Mode unreachable: {exc}"))
    if not found:
        found.append(
            Finding(
                False,
                "Slack cannot reach Escalator: no signing secret, no app token",
                "set ESCALATOR_SLACK_SIGNING_SECRET (Basic Information → Signing "
                "Secret) or ESCALATOR_SLACK_APP_TOKEN for Socket Mode",
            )
        )
    return found


def _channels(client: WebClient, process: Process, can_list: bool) -> list[Finding]:
    wanted = channels_of(process)
    if not can_list:
        return [
            Finding(
                False,
                "channels not checked: " + ", ".join(wanted),
                "add channels:read to let the doctor check them",
                warning=True,
            )
        ]
    known: dict[str, dict[str, object]] = {}
    cursor = None
    try:
        while True:
            page = client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor
            )
            for channel in page.get("channels", []) or []:
                known[str(channel.get("id"))] = channel
                known["#" + str(channel.get("name"))] = channel
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except (SlackApiError, OSError) as exc:
        return [Finding(False, f"channels not checked: {exc}", warning=True)]
    found = []
    for name in wanted:
        channel = known.get(name)
        if channel is None:
            found.append(
                Finding(
                    False,
                    f"channel {name} not found",
                    f"create {name} or change slack: in the process file",
                )
            )
        elif not channel.get("is_member"):
            found.append(
                Finding(False, f"the app is not in {name}", f"type /invite @escalator in {name}")
            )
        else:
            found.append(Finding(True, f"channel {name}: the app is in it"))
    return found
