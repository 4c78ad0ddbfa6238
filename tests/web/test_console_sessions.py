"""The console's cookie carries a session of its own: opened at sign-in, listed and revoked
per person, ended by signing out, by revoking its API token, and by being left idle."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalator.api.downloads import content_disposition
from escalator.api.server import create_app
from escalator.app import Services
from escalator.process.core import tokens
from escalator.store.models import ApiToken, ConsoleSession
from tests.fakes import FakeClock

COOKIE = "escalator_session"
Token = Callable[[str], str]


def set_cookie(response: object, name: str = COOKIE) -> str:
    """The Set-Cookie header of a response for cookie ``name``."""
    [header] = [
        h
        for h in response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
        if h.startswith(f"{name}=")
    ]
    return str(header)


def sign_in(client: TestClient, token: str, *, agent: str = "testclient") -> str:
    """Sign ``client`` in; returns the session secret its cookie now holds."""
    client.cookies.clear()
    response = client.post(
        "/login", data={"token": token}, headers={"User-Agent": agent}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/incidents"
    secret = client.cookies[COOKIE]
    return secret


def signed_in(client: TestClient, path: str = "/incidents") -> bool:
    response = client.get(path, follow_redirects=False)
    if response.status_code == 303:
        assert response.headers["location"] == "/login"
        return False
    assert response.status_code == 200
    return True


def sessions(svc: Services) -> list[ConsoleSession]:
    with svc.db.read() as s:
        return list(s.scalars(select(ConsoleSession).order_by(ConsoleSession.id)))


def test_the_cookie_holds_a_session_secret_not_the_api_token(
    svc: Services, client: TestClient, token_for: Token
) -> None:
    token = token_for("santhosh")
    response = client.post("/login", data={"token": token}, follow_redirects=False)
    cookie = set_cookie(response)
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    name, secret = name_value.split("=", 1)
    assert name == COOKIE and secret.startswith("ess_") and token not in cookie
    flags = {key.lower(): value for key, _, value in (a.partition("=") for a in attributes)}
    assert "httponly" in flags and flags["samesite"].lower() == "strict"
    assert flags["path"] == "/" and flags["max-age"] == str(30 * 86400)
    assert "secure" not in flags, "Secure only when ESCALATOR_COOKIE_SECURE says so"
    [row] = sessions(svc)
    assert row.person == "santhosh" and row.user_agent == "testclient"
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest(), "kept only as a digest"
    assert row.created_at == row.last_seen_at == svc.clock.now()


def test_the_cookie_is_secure_when_configured(
    make_services: Callable[..., Services], database_url: str
) -> None:
    svc = make_services(database_url, cookie_secure=True)
    with svc.unit_of_work("test") as ctx:
        token = tokens.create(ctx, person="noah").token
    with TestClient(create_app(svc, run_worker=False)) as client:
        response = client.post("/login", data={"token": token}, follow_redirects=False)
    attributes = [a.strip().lower() for a in set_cookie(response).split(";")]
    assert "secure" in attributes and "httponly" in attributes and "samesite=strict" in attributes


def test_a_copied_session_cookie_opens_no_api(client: TestClient, token_for: Token) -> None:
    token = token_for("santhosh")
    secret = sign_in(client, token)
    assert signed_in(client), "the cookie opens console pages"
    as_bearer = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"})
    assert as_bearer.status_code == 401
    assert as_bearer.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/incidents").status_code == 401, "nor does the cookie itself"
    client.cookies.clear()
    client.cookies.set("escalator_token", token)  # the old cookie, which held the API token
    assert client.get("/api/v1/incidents").status_code == 401
    assert not signed_in(client)


def test_a_session_left_idle_ends_and_one_in_use_lasts_until_its_cap(
    make_services: Callable[..., Services], database_url: str, clock: FakeClock
) -> None:
    svc = make_services(database_url, console_session_idle_hours=12, console_session_max_days=1)
    with svc.unit_of_work("test") as ctx:
        token = tokens.create(ctx, person="santhosh").token
    with TestClient(create_app(svc, run_worker=False)) as client:
        sign_in(client, token)
        clock.advance(timedelta(hours=11, minutes=59))
        assert signed_in(client), "used again within 12 hours"
        clock.advance(timedelta(hours=11, minutes=59))
        assert signed_in(client), "each use starts the idle clock again"
        clock.advance(timedelta(minutes=2))
        assert not signed_in(client), "a day after sign-in, however much it was used"

        sign_in(client, token)
        clock.advance(timedelta(hours=12))
        assert not signed_in(client), "12 hours unused"
        assert client.get("/sessions", follow_redirects=False).status_code == 303


def test_last_seen_is_written_at_most_once_a_minute_and_not_by_live_refresh(
    svc: Services, client: TestClient, token_for: Token, clock: FakeClock
) -> None:
    sign_in(client, token_for("santhosh"))
    start = clock.now()
    clock.advance(timedelta(seconds=59))
    assert signed_in(client)
    assert sessions(svc)[0].last_seen_at == start, "not written within the minute"
    clock.advance(timedelta(seconds=1))
    assert signed_in(client)
    assert sessions(svc)[0].last_seen_at == clock.now()
    seen = clock.now()
    clock.advance(timedelta(minutes=5))
    refresh = client.get("/incidents", headers={"HX-Request": "true"})
    assert refresh.status_code == 200 and "<html" not in refresh.text
    assert sessions(svc)[0].last_seen_at == seen, "htmx's polling is not someone using it"


def test_a_signed_out_live_refresh_sends_the_whole_page_to_sign_in(client: TestClient) -> None:
    response = client.get("/incidents", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_signing_out_ends_the_session(svc: Services, client: TestClient, token_for: Token) -> None:
    secret = sign_in(client, token_for("santhosh"))
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "max-age=0" in set_cookie(response).lower()
    assert sessions(svc)[0].revoked_at == svc.clock.now()
    client.cookies.set(COOKIE, secret)  # a copy kept from before
    assert not signed_in(client)


def test_people_list_and_revoke_their_own_sessions_over_the_api(
    svc: Services, client: TestClient, token_for: Token, auth: Callable[[str], dict[str, str]]
) -> None:
    laptop = sign_in(client, token_for("santhosh"), agent="Firefox on the laptop")
    sign_in(client, token_for("santhosh"), agent="Chromium on the phone")
    sign_in(client, token_for("dinesh"), agent="Dinesh's browser")
    santhosh = auth("santhosh")
    listed = client.get("/api/v1/sessions", headers=santhosh).json()
    assert [(s["id"], s["user_agent"], s["state"]) for s in listed] == [
        (2, "Chromium on the phone", "live"),
        (1, "Firefox on the laptop", "live"),
    ]
    expires = datetime.fromisoformat(listed[0]["expires_at"])
    assert expires == svc.clock.now() + timedelta(hours=12), "12 hours unused"

    others = client.delete("/api/v1/sessions/3", headers=santhosh)
    assert (
        others.status_code == 404
        and "santhosh has no live console session with id 3" in (others.json()["detail"])
    )
    revoked = client.delete("/api/v1/sessions/1", headers=santhosh)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.delete("/api/v1/sessions/1", headers=santhosh).status_code == 404
    client.cookies.clear()
    client.cookies.set(COOKIE, laptop)
    assert not signed_in(client), "the revoked browser is signed out"
    assert client.get("/api/v1/sessions").status_code == 401


def test_the_sessions_page_lists_them_and_signs_a_browser_out(
    svc: Services, client: TestClient, token_for: Token
) -> None:
    token = token_for("noah")
    other = sign_in(client, token, agent="Old browser")
    sign_in(client, token, agent="This browser")
    page = client.get("/sessions")
    assert page.status_code == 200
    assert "Old browser" in page.text and "This browser <strong" in page.text
    assert 'action="/sessions/1/revoke"' in page.text and 'action="/sessions/2/revoke"' in page.text
    gone = client.post("/sessions/1/revoke", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/sessions"
    assert signed_in(client, "/sessions"), "revoking another browser keeps this one"
    assert client.post("/sessions/1/revoke").status_code == 404
    own = client.post("/sessions/2/revoke", follow_redirects=False)
    assert own.status_code == 303 and own.headers["location"] == "/login"
    assert not signed_in(client)
    client.cookies.set(COOKIE, other)
    assert not signed_in(client)


def test_revoking_the_api_token_ends_the_sessions_opened_with_it(
    svc: Services, client: TestClient, token_for: Token
) -> None:
    token = token_for("santhosh")
    secret = sign_in(client, token)
    with svc.db.read() as s:
        token_id = s.scalars(select(ApiToken.id)).one()
    with svc.unit_of_work("test") as ctx:
        tokens.revoke(ctx, token_id)
    assert sessions(svc)[0].revoked_at == svc.clock.now()
    client.cookies.set(COOKIE, secret)
    assert not signed_in(client)
    refused = client.post("/login", data={"token": token}, follow_redirects=False)
    assert refused.status_code == 401 and "unknown or revoked" in refused.text


def test_a_revoked_token_ends_its_sessions_even_when_they_were_not_marked(
    svc: Services, client: TestClient, token_for: Token
) -> None:
    """A token revoked by hand in the database (or by an older version) still ends them."""
    sign_in(client, token_for("santhosh"))
    with svc.db.write() as s:
        s.execute(ApiToken.__table__.update().values(revoked_at=svc.clock.now()))
    assert not signed_in(client)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_evidence_files_download_from_the_console_as_bytes(
    client: TestClient, token_for: Token, auth: Callable[[str], dict[str, str]]
) -> None:
    santhosh = auth("santhosh")
    client.post("/api/v1/incidents", json={"title": "Checkout down"}, headers=santhosh)
    uploaded = client.post(
        "/api/v1/incidents/INC-1/evidence/files",
        files={"file": ("Größe 日本.html", b"<script>alert(1)</script>", "text/html")},
        headers=santhosh,
    )
    file_id = uploaded.json()["id"]
    sign_in(client, token_for("santhosh"))
    page = client.get("/incidents/INC-1/triage")
    assert f'href="/incidents/INC-1/evidence/files/{file_id}"' in page.text
    download = client.get(f"/incidents/INC-1/evidence/files/{file_id}")
    assert download.status_code == 200 and download.content == b"<script>alert(1)</script>"
    assert download.headers["content-type"] == "application/octet-stream", "never rendered"
    assert download.headers["content-disposition"] == (
        'attachment; filename="Gr__e __.html"; '
        "filename*=UTF-8''Gr%C3%B6%C3%9Fe%20%E6%97%A5%E6%9C%AC.html"
    )
    over_api = client.get(f"/api/v1/incidents/INC-1/evidence/files/{file_id}", headers=santhosh)
    assert over_api.status_code == 200 and over_api.headers["content-type"].startswith("text/html")
    assert over_api.headers["content-disposition"] == download.headers["content-disposition"]
    assert client.get("/incidents/INC-1/evidence/files/999").status_code == 404


def test_a_download_name_cannot_break_out_of_its_header() -> None:
    header = content_disposition('a"b\\c\r\nSet-Cookie: x=1.txt')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="a_b_c__Set-Cookie: x=1.txt"; filename*=')
