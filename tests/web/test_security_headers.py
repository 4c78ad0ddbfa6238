"""Security headers on every response: console pages, the API, static files, intake; the
docs pages get the policy Swagger UI and ReDoc need; the templates hold nothing the console's
policy would block."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.process.core import integrations

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
TEMPLATES = resources.files("escalator.web") / "templates"


def assert_hardened(headers: object, policy: str = POLICY) -> None:
    get = headers.get  # type: ignore[attr-defined]
    assert get("content-security-policy") == policy
    assert get("x-content-type-options") == "nosniff"
    assert get("referrer-policy") == "same-origin"
    assert get("x-frame-options") == "DENY"


@SQLITE
def test_console_pages_api_answers_and_static_files_carry_them(
    svc: Services, client: TestClient, token_for: Callable[[str], str]
) -> None:
    with svc.unit_of_work("dinesh") as ctx:
        _, secret = integrations.create(ctx, kind="generic", name="headers")
    responses = {
        "sign-in page": client.get("/login"),
        "redirect": client.get("/incidents", follow_redirects=False),
        "API 401 (problem+json)": client.get("/api/v1/incidents"),
        "health": client.get("/healthz"),
        "static script": client.get("/static/htmx.min.js"),
        "static style": client.get("/static/escalator.css"),
        "missing static file": client.get("/static/nope.js"),
        "intake": client.post(
            "/api/v1/intake/generic",
            json={"title": "x"},
            headers={"Authorization": f"Bearer {secret}"},
        ),
    }
    client.post("/login", data={"token": token_for("santhosh")})
    responses["incidents page"] = client.get("/incidents")
    responses["live refresh"] = client.get("/incidents", headers={"HX-Request": "true"})
    token = token_for("santhosh")
    responses["API 200"] = client.get(
        "/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}
    )
    for name, response in responses.items():
        assert response.status_code < 500, name
        assert_hardened(response.headers), name


def directive_for(tag: str, url: str) -> str:
    if url.endswith((".png", ".ico")):
        return "img-src"
    return "script-src" if tag == "script" else "style-src"


@SQLITE
def test_the_docs_pages_get_a_policy_that_lets_them_load(client: TestClient) -> None:
    """Swagger UI and ReDoc come from a CDN and start with inline code: every origin their
    pages name is allowed for its kind, and inline code where the page has some."""
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and response.headers["x-frame-options"] == "DENY"
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        found = re.findall(r'<(script|link)[^>]+(?:src|href)="(https://[^"]+)"', response.text)
        assert found or path == "/docs", path
        for tag, url in found:
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
            kind = directive_for(tag, url)
            assert origin in directives[kind].split(), f"{path}: {url} is not allowed by {kind}"
        for element, kind in (("<script>", "script-src"), ("<style>", "style-src")):
            if element in response.text:
                assert "'unsafe-inline'" in directives[kind], f"{path} has an inline {element}"
    assert client.get("/openapi.json").headers["content-security-policy"] == POLICY


@SQLITE
def test_swagger_ui_is_served_from_the_package_with_no_internet(client: TestClient) -> None:
    page = client.get("/docs").text
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert "https://" not in page.split("<body>")[0] + " ".join(assets)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 500, asset
    assert "swagger-ui" in page and client.get("/static/swagger-ui/LICENSE").status_code == 200


@SQLITE
def test_a_header_a_route_sets_itself_is_kept(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    santhosh = auth("santhosh")
    client.post("/api/v1/incidents", json={"title": "Checkout down"}, headers=santhosh)
    up = client.post(
        "/api/v1/incidents/INC-1/evidence/files",
        files={"file": ("a.log", b"x", "text/plain")},
        headers=santhosh,
    )
    download = client.get(
        f"/api/v1/incidents/INC-1/evidence/files/{up.json()['id']}", headers=santhosh
    )
    assert download.headers.get_list("x-content-type-options") == ["nosniff"], "not doubled"
    assert_hardened(download.headers)


def test_no_template_holds_an_inline_script_style_or_event_handler() -> None:
    """The policy would block them: behaviour goes in static/console.js, looks in the CSS."""
    for template in TEMPLATES.iterdir():
        text = template.read_text()
        inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        assert not inline_scripts, f"{template.name}: {inline_scripts}"
        assert not re.search(r"<style\b", text), f"{template.name} has a <style> element"
        assert not re.search(r"\sstyle=", text), f"{template.name} has a style attribute"
        handlers = re.findall(r"\s(on[a-z]+|hx-on[:-][\w:-]*)=", text)
        assert not handlers, f"{template.name}: {handlers}"
        assert "javascript:" not in text, template.name
