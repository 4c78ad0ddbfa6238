"""Outside text stays text on every console page that shows it: an alarm titled
``<img src=x onerror=…>`` and an email whose subject holds a ``<script>``."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from escalator.app import Services
from tests.web.hostile import ALARM_TITLE, EMAIL_BODY, EMAIL_SUBJECT, open_hostile_incidents

OUR_SCRIPTS = ["/static/htmx.min.js", "/static/console.js"]


class Page(HTMLParser):
    """The elements and text of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def assert_no_markup_from_outside(self) -> None:
        scripts = [attrs.get("src") for tag, attrs in self.tags if tag == "script"]
        assert scripts == OUR_SCRIPTS, "no script element but ours"
        for tag, attrs in self.tags:
            assert tag not in ("img", "iframe", "svg", "b", "i"), f"<{tag}> came from outside text"
            handlers = [name for name in attrs if name.startswith("on")]
            assert not handlers, f"<{tag}> has {handlers}"

    def shows(self, text: str) -> bool:
        return text in "".join(self.text)


@pytest.fixture
def signed_in(svc: Services, client: TestClient, token_for: Callable[[str], str]) -> TestClient:
    open_hostile_incidents(svc, client)
    signed = client.post("/login", data={"token": token_for("santhosh")}, follow_redirects=False)
    assert signed.status_code == 303
    return client


@pytest.mark.parametrize(
    ("path", "texts"),
    [
        ("/incidents", [ALARM_TITLE, EMAIL_SUBJECT]),
        ("/incidents/INC-1", [ALARM_TITLE, "<i>quotes</i>"]),
        ("/incidents/INC-2", [EMAIL_SUBJECT, EMAIL_BODY, "<svg onload=alert(2)>"]),
        ("/messages", [f"New alarm incident: {ALARM_TITLE}", EMAIL_SUBJECT]),
        ("/incidents/INC-1/triage", [ALARM_TITLE]),
        ("/incidents/INC-2/triage", [EMAIL_SUBJECT]),
    ],
)
def test_outside_text_is_shown_as_text_and_never_as_markup(
    signed_in: TestClient, path: str, texts: list[str]
) -> None:
    response = signed_in.get(path)
    assert response.status_code == 200
    page = Page(response.text)
    page.assert_no_markup_from_outside()
    for text in texts:
        assert page.shows(text), f"{text!r} is not shown as text on {path}"


@pytest.mark.parametrize("path", ["/incidents", "/incidents/INC-1?part=timeline", "/messages"])
def test_the_live_refresh_fragments_escape_it_too(signed_in: TestClient, path: str) -> None:
    response = signed_in.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = Page(response.text)
    assert not [tag for tag, _ in page.tags if tag in ("script", "img", "iframe", "svg")]
    assert not [name for _, attrs in page.tags for name in attrs if name.startswith("on")]
