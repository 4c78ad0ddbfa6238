"""The API says what it does: every answer it can give is in the OpenAPI document, in the form
the document gives, and the input the document describes is accepted as described."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
Auth = Callable[[str], dict[str, str]]


def test_every_operation_taking_a_body_documents_the_400_for_one_it_cannot_read(
    client: TestClient,
) -> None:
    operations = [
        (method, path, operation)
        for path, methods in client.get("/openapi.json").json()["paths"].items()
        for method, operation in methods.items()
        if "requestBody" in operation
    ]
    assert len(operations) >= 14
    for method, path, operation in operations:
        declared = operation["responses"].get("400", {})
        assert PROBLEM in declared.get("content", {}), f"{method.upper()} {path} lacks the 400"


@pytest.mark.parametrize(
    ("raw", "says"),
    [(b"{oops", "malformed JSON: Expecting property name"), (b'{"title": "\xc3\x28"}', "UTF-8")],
)
def test_a_body_that_cannot_be_read_gets_a_400_problem(
    client: TestClient, auth: Auth, raw: bytes, says: str
) -> None:
    response = client.post(
        "/api/v1/incidents",
        content=raw,
        headers={**auth("dinesh"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    assert says in response.json()["detail"]


def test_a_hand_off_with_seconds_is_taken_and_served_as_the_schema_says(
    client: TestClient, auth: Auth
) -> None:
    rotation = {"members": ["vijay", "michael"], "handoff": "09:00:00", "timezone": "UTC"}
    edited = client.put("/api/v1/rotations/on_call", json=rotation, headers=auth("raja"))
    assert edited.status_code == 200, edited.text
    assert edited.json()["definition"]["handoff"] == "09:00"
    later = client.put(
        "/api/v1/rotations/on_call", json={**rotation, "handoff": "17:30"}, headers=auth("raja")
    )
    assert later.json()["definition"]["handoff"] == "17:30"
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("Rotation-Input", "Rotation-Output"):
        handoff = schemas[name]["properties"]["handoff"]
        assert "format" not in handoff  # "time" would demand an offset, as in 09:00:00Z
        assert all(re.match(handoff["pattern"], v) for v in ("09:00", "09:00:00", "17:30"))
    bad = client.put(
        "/api/v1/rotations/on_call", json={**rotation, "handoff": "25:00"}, headers=auth("raja")
    )
    assert bad.status_code == 422 and "HH:MM" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/incidents", "GET, POST"),
        ("POST", "/api/v1/rotations/on_call", "PUT, DELETE"),
        ("PATCH", "/api/v1/integrations/1", "DELETE"),
    ],
)
def test_405_lists_every_method_the_path_allows(
    client: TestClient, auth: Auth, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path, headers=auth("raja"))
    assert response.status_code == 405 and response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == allowed
    assert method in response.json()["detail"]


@pytest.mark.parametrize("users", [False, True, 2.0, "3"])
def test_users_affected_must_be_a_whole_number(
    client: TestClient, auth: Auth, users: object
) -> None:
    client.post("/api/v1/incidents", json={"title": "Prices show $0"}, headers=auth("dinesh"))
    answers = {"user_impact": "degraded", "business_impact": "none"}
    response = client.post(
        "/api/v1/incidents/INC-1/assessments",
        json={**answers, "users_affected": users},
        headers=auth("santhosh"),
    )
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "users_affected"
    ok = client.post(
        "/api/v1/incidents/INC-1/assessments",
        json={**answers, "users_affected": 3},
        headers=auth("santhosh"),
    )
    assert ok.status_code == 200, ok.text


def test_every_json_body_refuses_text_no_database_can_keep(client: TestClient) -> None:
    """Each operation's JSON body is a ``Body``: a NUL or a lone surrogate is a 422 naming the
    field, never a 500 from PostgreSQL (Schemathesis finds these only by chance)."""
    from fastapi.routing import APIRoute
    from pydantic import BaseModel

    from escalator.api.schemas import Body

    def routes(entries: list[object]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for entry in entries:
            if isinstance(entry, APIRoute):
                found.append(entry)
            elif hasattr(entry, "original_router"):  # FastAPI's included routers
                found.extend(routes(entry.original_router.routes))
        return found

    taking = [r for r in routes(client.app.routes) if r.dependant.body_params]  # type: ignore[attr-defined]
    # the process file's Rotation has no free text: ids, a duration, a date, a time, a zone
    from escalator.config.process_schema import Rotation

    loose = [
        f"{sorted(route.methods)} {route.path}: {model.__name__}"
        for route in taking
        for model in (p.field_info.annotation for p in route.dependant.body_params)
        if isinstance(model, type) and issubclass(model, BaseModel)
        if not issubclass(model, Body | Rotation)
    ]
    assert len(taking) >= 14 and loose == []
