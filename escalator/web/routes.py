"""The web console: server-rendered pages, refreshed live with htmx polling."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from escalator.api.deps import ServicesDep
from escalator.app import Services
from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import IllegalTransition, Status
from escalator.domain.permissions import Forbidden, check_action
from escalator.domain.roles import ROLES
from escalator.process.alert import opening
from escalator.process.core import (
    console_sessions,
    incidents,
    integrations,
    messages,
    queries,
    tokens,
)
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.integrations import KINDS
from escalator.process.core.records import incident_id
from escalator.process.escalate import escalation, pages, paging

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import ConsoleSession

COOKIE = "escalator_session"  # a console session's secret, never an API token
OLD_COOKIE = "escalator_token"  # held the API token itself, before console sessions
PAGE_SIZE = 50  # incidents a list page shows; older ones are a click away

templates = Jinja2Templates(directory=str(resources.files("escalator.web") / "templates"))
router = APIRouter(include_in_schema=False)

# use-case errors a page shows in its error banner, with the HTTP status the API would use
FAILURES = (IllegalTransition, Forbidden, InvalidInput, NotFound)
CODES = {IllegalTransition: 409, Forbidden: 403, InvalidInput: 422, NotFound: 404}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


templates.env.filters["when"] = _when
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
        {"person": person, "process": svc.process.spec, **context},
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


@router.get("/incidents")
def incident_list(
    request: Request, svc: ServicesDep, person: Viewer, status: str = "", before: str = ""
) -> Response:
    try:
        older_than = incident_id(before) if before else None
    except NotFound as exc:
        return render(request, "error.html", person, code=404, error=str(exc))
    with svc.db.read() as session:
        page = queries.list_incidents(
            session, status=status or None, limit=PAGE_SIZE, before=older_than
        )
    template = "_incident_rows.html" if request.headers.get("HX-Request") else "incidents.html"
    return render(
        request, template, person, page=page, status=status, before=before, statuses=list(Status)
    )


@router.get("/incidents/{key}")
def incident(request: Request, svc: ServicesDep, person: Viewer, key: str) -> Response:
    return _incident_page(request, svc, person, key)


def _incident_page(
    request: Request, svc: Services, person: str, key: str, *, error: str = "", code: int = 200
) -> Response:
    now = svc.clock.now()
    try:
        with svc.db.read() as session:
            item = queries.get_incident(session, key)
            events = queries.timeline(session, item)
            clocks = [
                {"kind": t.kind, "due_at": t.due_at, "left": time_left(t.due_at, now)}
                for t in queries.pending_timers(session, item)
            ]
            paged = pages.incident_pages(session, item)
    except NotFound as exc:
        return render(request, "error.html", person, code=404, error=str(exc))
    partial = request.headers.get("HX-Request") and request.query_params.get("part") == "timeline"
    return render(
        request,
        "_timeline.html" if partial else "incident.html",
        person,
        code=code,
        incident=item,
        events=events,
        clocks=clocks,
        roles=ROLES,
        pages=paged,
        decisions=escalation.DECISIONS,
        error=error,
    )


def time_left(due_at: datetime, now: datetime) -> str:
    seconds = int((due_at - now).total_seconds())
    if seconds <= 0:
        return "overdue"
    return "in " + format_duration(timedelta(seconds=seconds))


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
) -> Response:
    simple = {
        "acknowledge": incidents.acknowledge,
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
        return _incident_page(request, svc, person, key, error=str(exc), code=CODES[type(exc)])
    return RedirectResponse(f"/incidents/{key}", status_code=303)


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
    with svc.db.read() as session:
        rows = queries.messages(session, state=state or None, limit=200)
        failed_timers, failed_alerts = queries.set_aside(session)
    template = "_message_rows.html" if request.headers.get("HX-Request") else "messages.html"
    return render(
        request,
        template,
        person,
        code=code,
        messages=rows,
        state=state,
        error=error,
        failed_timers=failed_timers,
        failed_alerts=failed_alerts,
    )


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
        request, "integrations.html", person, code=code, integrations=rows, kinds=KINDS, **context
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
    request: Request, svc: ServicesDep, person: Viewer, integration_id: int
) -> Response:
    try:
        with svc.unit_of_work(person) as ctx:
            check_action(person, ctx.process.roles_of(person), "integration.manage")
            integrations.revoke(ctx, integration_id)
    except FAILURES as exc:
        return _integrations_page(request, svc, person, code=CODES[type(exc)], error=str(exc))
    request.app.state.intake.forget(integration_id)  # after the commit
    return RedirectResponse("/integrations", status_code=303)
