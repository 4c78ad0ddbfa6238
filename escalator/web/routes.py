"""The web console: server-rendered pages, refreshed live with htmx polling."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape

from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import IllegalTransition, Status
from escalator.domain.permissions import Forbidden, check_action
from escalator.process import triage
from escalator.process.alert import opening
from escalator.process.core import (
    console_sessions,
    incidents,
    integrations,
    messages,
    queries,
    queues,
    tokens,
)
from escalator.process.core.context import Ctx
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.integrations import KINDS
from escalator.process.core.records import incident_id
from escalator.process.escalate import escalation, pages, paging
from escalator.process.triage import kickoff, tickets
from escalator.web import desk

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import ConsoleSession

COOKIE = "escalator_session"  # a console session's secret, never an API token
OLD_COOKIE = "escalator_token"  # held the API token itself, before console sessions
UTC_ZONE = ZoneInfo("UTC")
PARTS = ("live", "timeline")  # the incident page's live refresh (timeline: its old name)
PAGE_SIZE = 50  # incidents a list page shows; older ones are a click away

templates = Jinja2Templates(directory=str(resources.files("escalator.web") / "templates"))
router = APIRouter(include_in_schema=False)

# use-case errors a page shows in its error banner, with the HTTP status the API would use
FAILURES = (IllegalTransition, Forbidden, InvalidInput, NotFound)
CODES = {IllegalTransition: 409, Forbidden: 403, InvalidInput: 422, NotFound: 404}


def run_form(
    svc: Services,
    person: str,
    step: Callable[[Ctx], object],
    *,
    done: str,
    refused: Callable[[str, int], Response],
) -> Response:
    """A console form's work: ``step`` as ``person`` in one unit of work, then on to ``done``
    (a 303, so a reload does not post again); a refusal is ``refused(reason, status)``, the
    page again with what went wrong."""
    try:
        with svc.unit_of_work(person) as ctx:
            step(ctx)
    except FAILURES as exc:
        return refused(str(exc), CODES[type(exc)])
    return RedirectResponse(done, status_code=303)


def _zone(context: Any) -> ZoneInfo:
    """The signed-in person's timezone, from the process file (UTC if none)."""
    process, person = context.get("process"), context.get("person")
    who = process.people.get(person) if process is not None and person else None
    try:
        return ZoneInfo(who.timezone) if who is not None else UTC_ZONE
    except (ValueError, KeyError):
        return UTC_ZONE


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(zone)


@pass_context
def _when(context: Any, value: datetime | None) -> str:
    """A time as the person reads it: their timezone, to the second, no microseconds."""
    if not value:
        return ""
    return _local(value, _zone(context)).strftime("%Y-%m-%d %H:%M:%S %Z")


@pass_context
def _stamp(context: Any, value: datetime | None) -> Markup:
    """``<time>`` in the person's timezone; console.js shows how long ago on hover."""
    if not value:
        return Markup("")
    local = _local(value, _zone(context))
    # escape() rather than Markup.format, whose escaping formatter is pure Python: this runs
    # on every row of a list (about a millisecond less on a page of 50)
    iso, full = escape(local.isoformat()), escape(local.strftime("%Y-%m-%d %H:%M:%S %Z"))
    return Markup(
        f'<time datetime="{iso}" title="{full}">{escape(local.strftime("%d %b %H:%M"))}</time>'
    )


URL = re.compile(
    r"(?:https?://|(?<![\w/.])/(?:ack|incidents|calendar)/)[^\s<>\"']+?(?=&lt;|&gt;|&quot;|&#39;|[\s.,;)]*(?:\s|$))"
)


def _linkify(text: str | None) -> Markup:
    """Text with its web addresses as links (escaped first: the text may come from outside)."""
    escaped = str(escape(text or ""))
    return Markup(
        URL.sub(
            lambda m: f'<a href="{m.group(0)}" rel="noopener noreferrer">{m.group(0)}</a>', escaped
        )
    )


ACK_LINK = re.compile(r"(?:https?://[^\s/]+)?/ack/[^\s<>\"']+")


def _no_ack_links(text: str | None) -> str:
    """A message to someone else without its acknowledgement link: that link acknowledges as
    its recipient, so only they see it."""
    return ACK_LINK.sub("[acknowledgement link: its recipient's only]", text or "")


def label(value: object) -> str:
    """An internal identifier as people read it: ``first_tier`` -> "first tier",
    ``playbook_attached`` -> "playbook attached", ``on_call_engineer.backup`` -> "on call
    engineer (backup)". Anything else (a person, a free text) is shown as it is."""
    if value is None or value == "":
        return "—"
    text = str(value)
    if not re.fullmatch(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?", text):
        return text
    head, _, tail = text.partition(".")
    said = head.replace("_", " ")
    return f"{said} ({tail.replace('_', ' ')})" if tail else said


templates.env.filters["when"] = _when
templates.env.filters["label"] = label
templates.env.filters["no_ack_links"] = _no_ack_links
templates.env.filters["linkify"] = _linkify
templates.env.filters["stamp"] = _stamp
templates.env.filters["duration"] = format_duration


class NotSignedIn(Exception):
    """Raised by :func:`viewer`; the app answers with a redirect to the sign-in page."""


def _background(request: Request) -> bool:
    """htmx's live refresh: it keeps a page current, but is not someone using the console."""
    return request.method == "GET" and request.headers.get("HX-Request") == "true"


def _signed_in(request: Request, svc: Services) -> ConsoleSession | None:
    """The live console session of the request's cookie; marks it used (once a minute)."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    now = svc.clock.now()
    with svc.db.read() as session:
        row = console_sessions.find_live(
            session, secret, now, console_sessions.Limits.of(svc.settings)
        )
    if row is not None and console_sessions.is_stale(row, now) and not _background(request):
        with svc.db.write() as session:
            console_sessions.touch(session, row.id, now)
    return row


def render(
    request: Request, name: str, person: str | None, code: int = 200, **context: Any
) -> HTMLResponse:
    svc: Services = request.app.state.services
    return templates.TemplateResponse(
        request,
        name,
        {
            "person": person,
            "process": svc.process.spec,
            "server_now": svc.clock.now().replace(tzinfo=UTC).isoformat(),
            **context,
        },
        status_code=code,
    )


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def viewer(request: Request, svc: ServicesDep) -> str:
    """The signed-in person of a console page (``request.state.console_session``: the id of
    their session)."""
    row = _signed_in(request, svc)
    if row is None:
        raise NotSignedIn()
    request.state.console_session = row.id
    return row.person


Viewer = Annotated[str, Depends(viewer)]


async def to_login(request: Request, __: Exception) -> Response:
    if request.headers.get("HX-Request") == "true":  # a live refresh: send the whole page
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return _to_login()


@router.get("/")
def home(request: Request, svc: ServicesDep) -> Response:
    return RedirectResponse("/incidents" if _signed_in(request, svc) else "/login", status_code=303)


@router.get("/favicon.ico")
def favicon() -> Response:
    """The icon browsers ask for at the root even when the page names its own."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
def login(request: Request, svc: ServicesDep, token: Annotated[str, Form()] = "") -> Response:
    """Sign in with an API token; the cookie then carries a new console session's secret."""
    token = token.strip()
    with svc.db.read() as session:  # a wrong token takes no write lock
        known = tokens.live_token(session, token) is not None
    opened = None
    if known:
        with svc.unit_of_work("console") as ctx:
            agent = request.headers.get("user-agent", "")
            opened = console_sessions.open_session(ctx, token=token, user_agent=agent)
    if opened is None:
        return render(
            request,
            "login.html",
            None,
            code=401,
            error="That token is unknown or revoked. "
            "Create one with: escalator token create --person NAME",
        )
    response = RedirectResponse("/incidents", status_code=303)
    response.set_cookie(
        COOKIE,
        opened.secret,
        httponly=True,
        samesite="strict",
        secure=svc.settings.cookie_secure,
        max_age=int(console_sessions.Limits.of(svc.settings).absolute.total_seconds()),
    )
    response.delete_cookie(OLD_COOKIE, httponly=True, samesite="strict")
    return response


def signed_out(response: Response, svc: Services) -> Response:
    """``response`` with the session cookie removed."""
    response.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=svc.settings.cookie_secure
    )
    return response


@router.post("/logout")
def logout(request: Request, svc: ServicesDep) -> Response:
    secret = request.cookies.get(COOKIE)
    if secret:
        with svc.unit_of_work("console") as ctx:
            console_sessions.sign_out(ctx, secret)
    return signed_out(_to_login(), svc)


def _who(svc: Services, person: str) -> queues.Who:
    return queues.Who(person, svc.process.roles_of(person), svc.clock.now())


def _clocks(session: Any, svc: Services, items: list[Any]) -> dict[int, list[desk.Clock]]:
    """The running clocks of the incidents a page lists (only those: never every live one;
    and only the open and acknowledged ones have clocks)."""
    running = [i for i in items if i.status in desk.ACTIVE]
    timers = queries.timers_of(session, [i.id for i in running])
    now = svc.clock.now()
    return {i.id: desk.clocks(i, timers[i.id], now) for i in running}


NAV_QUEUES = ("mine", "role", "breaching")  # the queues the navigation counts on every page


@router.get("/queues")
def queue_nav(request: Request, svc: ServicesDep, person: Viewer, queue: str = "") -> Response:
    """The queues with their counts, for the navigation (refreshed live)."""
    with svc.db.read() as session:
        counts = queues.counts(session, _who(svc, person), NAV_QUEUES)
    return render(request, "_queue_nav.html", person, counts=counts, queue=queue)


@router.get("/incidents")
def incident_list(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    status: str = "",
    before: str = "",
    queue: str = "",
    q: str = "",
) -> Response:
    if queue and queue not in desk.QUEUE_NAMES:
        return render(
            request,
            "error.html",
            person,
            code=404,
            error=f"no queue {queue!r}; the queues are " + ", ".join(desk.QUEUE_NAMES),
        )
    try:
        older_than = incident_id(before) if before else None
    except NotFound as exc:
        return render(request, "error.html", person, code=404, error=str(exc))
    rows_only = bool(request.headers.get("HX-Request"))  # the live refresh of the rows
    who = _who(svc, person)
    with svc.db.read() as session:
        if queue:
            page = queues.listed(session, queue, who, limit=PAGE_SIZE, before=older_than, search=q)
        else:
            page = queries.list_incidents(
                session, status=status or None, limit=PAGE_SIZE, before=older_than, search=q
            )
        clocks = _clocks(session, svc, page.items)
        counts = {} if rows_only else queues.counts(session, who)
    return render(
        request,
        "_incident_rows.html" if rows_only else "incidents.html",
        person,
        page=page,
        status=status,
        before=before,
        statuses=list(Status),
        queue=queue,
        queue_label=desk.QUEUE_NAMES.get(queue, ""),
        counts=counts,
        queues=desk.QUEUES,
        clocks=clocks,
        q=q,
    )


@router.get("/incidents/{key}")
def incident(request: Request, svc: ServicesDep, person: Viewer, key: str) -> Response:
    return _incident_page(request, svc, person, key)


def _incident_page(
    request: Request, svc: Services, person: str, key: str, *, error: str = "", code: int = 200
) -> Response:
    now = svc.clock.now()
    try:
        with svc.looking(person) as ctx:
            item = queries.get_incident(ctx.session, key)
            events = queries.timeline(ctx.session, item)
            timers = queries.pending_timers(ctx.session, item)
            paged = pages.incident_pages(ctx.session, item)
            outcome = triage.playbook_outcome(ctx, item)
            ticket = tickets.ticket_of(ctx, item)
            helping = paging.responders(ctx.session, item)
            version = desk.fingerprint(
                item.status,
                item.stage,
                item.owner_role,
                item.owner_person,
                item.severity,
                item.policy is not None,
                [e.id for e in events[-1:]],
                len(events),
                [t.id for t in timers],
                [(v.page.id, v.page.state) for v in paged],
            )
            live = _background(request) and request.query_params.get("part") in PARTS
            if live and request.query_params.get("v") == version:
                return Response(status_code=204)  # nothing changed: htmx keeps the page
            offers = desk.offers(
                item,
                person,
                svc.process.roles_of(person),
                paging_me=any(v.page.person == person and v.page.state == "paging" for v in paged),
                decided=any(e.kind == "decision" for e in events),
                playbook_outcome=outcome,
                decisions=escalation.DECISIONS,
            )
    except NotFound as exc:
        return render(request, "error.html", person, code=404, error=str(exc))
    return render(
        request,
        "_incident_live.html" if live else "incident.html",
        person,
        code=code,
        incident=item,
        events=events,
        clocks=desk.clocks(item, timers, now),
        offers=offers,
        pages=paged,
        ticket=ticket,
        responders=helping,
        version=version,
        error=error,
        canonical=f"/incidents/{item.key}",
    )


@router.post("/incidents/{key}/{action}")
def act(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    key: str,
    action: str,
    note: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """One of the incident's actions. ``back`` names the page the button was on when that is
    not the incident's (``/pages``: acknowledging from My pages keeps you there)."""
    here = back if back in BACK_TO else ""
    simple = {
        "acknowledge": paging.acknowledge,  # joins as a responder when paged for help
        "resolve": incidents.resolve,
        "reopen": incidents.reopen,
        "close": incidents.close,
    }
    try:
        with svc.unit_of_work(person) as ctx:
            if action == "escalate":
                escalation.escalate(ctx, key, to_role=role, note=note)
            elif action == "decision":
                escalation.decide(ctx, key, decision, note=note)
            elif action == "bring-in":
                paging.bring_in(ctx, key, note=note)
            elif action == "claim":
                incidents.claim(ctx, key)
            elif action in simple:
                simple[action](ctx, key, note=note)
            else:
                raise NotFound(f"no action {action!r}")
    except FAILURES as exc:
        if here:
            return BACK_TO[here](request, svc, person, error=str(exc), code=CODES[type(exc)])
        return _incident_page(request, svc, person, key, error=str(exc), code=CODES[type(exc)])
    return RedirectResponse(here or f"/incidents/{key}", status_code=303)


@router.get("/report")
def report_form(request: Request, person: Viewer) -> Response:
    return render(request, "report.html", person)


@router.post("/report")
def report(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "phone",
    caller: Annotated[str, Form()] = "",
    account: Annotated[str, Form()] = "",
    pass_on: Annotated[str, Form()] = "",
) -> Response:
    if not title.strip() or channel not in opening.CUSTOMER_CHANNELS:
        return render(
            request,
            "report.html",
            person,
            code=422,
            error="Give the report a title, and a channel of phone, email, forum or manual.",
        )
    with svc.unit_of_work(person) as ctx:
        item = opening.report(
            ctx,
            title=title.strip(),
            description=description,
            channel=channel,
            caller=caller or None,
            account=account or None,
        )
        if pass_on == "yes" and item.owner_person == person:
            kickoff.pass_on(ctx, item)  # the reporter on duty chose not to keep it
        key = item.key
    return RedirectResponse(f"/incidents/{key}", status_code=303)


@router.get("/messages")
def messages_page(request: Request, svc: ServicesDep, person: Viewer, state: str = "") -> Response:
    return _messages_page(request, svc, person, state=state)


def _messages_page(
    request: Request,
    svc: Services,
    person: str,
    *,
    state: str = "",
    error: str = "",
    code: int = 200,
) -> Response:
    everyone = bool(svc.process.roles_of(person) & MESSAGE_READERS)
    with svc.db.read() as session:
        rows = queries.messages(
            session,
            state=state or None,
            limit=200,
            to=None if everyone else destinations_of(svc, person),
        )
        failed_timers, failed_alerts = queries.set_aside(session)
    template = "_message_rows.html" if request.headers.get("HX-Request") else "messages.html"
    return render(
        request,
        template,
        person,
        code=code,
        messages=rows,
        everyone=everyone,
        mine=destinations_of(svc, person),
        state=state,
        error=error,
        canonical="/messages",
        failed_timers=failed_timers,
        failed_alerts=failed_alerts,
    )


MESSAGE_READERS = frozenset({"support_manager", "engineering_manager"})  # see every message


def destinations_of(svc: Services, person: str) -> list[str]:
    """Where a person's messages go: the console (their id), email, Slack, PagerDuty."""
    found = [person]
    who = svc.process.person(person)
    if who is not None:
        found += [who.email, who.slack or "", who.phone or ""]
        if who.pagerduty_routing_key:
            found.append(pages.PERSON_PREFIX + who.pagerduty_routing_key)
    return [d for d in found if d]


@router.get("/pages")
def my_pages(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    """The person's pages, ringing ones first, each with an Acknowledge button."""
    return _my_pages(request, svc, person)


def _my_pages(
    request: Request, svc: Services, person: str, *, error: str = "", code: int = 200
) -> Response:
    with svc.db.read() as session:
        mine = pages.of_person(session, person)
    mine.sort(key=lambda v: v.page.state != "paging")
    return render(
        request, "my_pages.html", person, code=code, mine=mine, error=error, canonical="/pages"
    )


# pages an incident's action may come back to (an allow-list: never a redirect elsewhere)
BACK_TO = {"/pages": _my_pages}


@router.post("/messages/{message_id}/retry")
def retry_message(request: Request, svc: ServicesDep, person: Viewer, message_id: int) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            messages.retry(ctx, message_id)
    except FAILURES as exc:
        return _messages_page(request, svc, person, error=str(exc), code=CODES[type(exc)])
    return RedirectResponse("/messages", status_code=303)


def _integrations_page(
    request: Request, svc: Services, person: str, code: int = 200, **context: Any
) -> Response:
    with svc.db.read() as session:
        rows = integrations.list_all(session)
    return render(
        request,
        "integrations.html",
        person,
        code=code,
        integrations=rows,
        kinds=KINDS,
        canonical="/integrations",
        **context,
    )


@router.get("/integrations")
def integrations_page(request: Request, svc: ServicesDep, person: Viewer) -> Response:
    return _integrations_page(request, svc, person)


@router.post("/integrations")
def add_integration(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    kind: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            check_action(person, ctx.process.roles_of(person), "integration.manage")
            row, secret = integrations.create(ctx, kind=kind, name=name)
            kind_made = row.kind
    except FAILURES as exc:
        return _integrations_page(request, svc, person, code=CODES[type(exc)], error=str(exc))
    base = svc.settings.public_url or str(request.base_url).rstrip("/")
    url = integrations.intake_url(base, kind_made, secret)
    return _integrations_page(request, svc, person, code=201, created=url)


@router.post("/integrations/{integration_id}/revoke")
def revoke_integration(
    request: Request,
    svc: ServicesDep,
    person: Viewer,
    integration_id: int,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        return _integrations_page(
            request, svc, person, code=422, error="Confirm the revoke: it cannot be undone."
        )
    try:
        with svc.unit_of_work(person) as ctx:
            check_action(person, ctx.process.roles_of(person), "integration.manage")
            integrations.revoke(ctx, integration_id)
    except FAILURES as exc:
        return _integrations_page(request, svc, person, code=CODES[type(exc)], error=str(exc))
    request.app.state.intake.forget(integration_id)  # after the commit
    return RedirectResponse("/integrations", status_code=303)
