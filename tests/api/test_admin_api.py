"""Integrations and the outbox over the API: create (secret once), list, revoke; dead letters
shown and retried."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from escalator.app import Services
from escalator.engine.senders import ConsoleSender, PermanentFailure

Auth = Callable[[str], dict[str, str]]


def test_integrations_are_created_listed_and_revoked_by_managers(
    client: TestClient, auth: Auth
) -> None:
    manager = auth("dinesh")
    created = client.post(
        "/api/v1/integrations", json={"kind": "alertmanager", "name": "prod-am"}, headers=manager
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("esi_") and body["url"].endswith(
        f"/api/v1/intake/alertmanager?token={body['secret']}"
    )
    listed = client.get("/api/v1/integrations", headers=auth("noah")).json()
    assert [(i["name"], i["kind"], i["created_by"]) for i in listed] == [
        ("prod-am", "alertmanager", "dinesh")
    ]
    assert "secret" not in listed[0] and body["secret"] not in str(listed)
    twice = client.post(
        "/api/v1/integrations", json={"kind": "grafana", "name": "prod-am"}, headers=manager
    )
    assert twice.status_code == 422 and "exists already" in twice.json()["detail"]
    wrong_kind = client.post(
        "/api/v1/integrations", json={"kind": "nagios", "name": "x"}, headers=manager
    )
    assert wrong_kind.status_code == 422 and wrong_kind.json()["errors"][0]["field"] == "kind"
    refused = client.post(
        "/api/v1/integrations", json={"kind": "generic", "name": "y"}, headers=auth("noah")
    )
    assert refused.status_code == 403 and "manage integrations" in refused.json()["detail"]
    assert (
        client.delete(f"/api/v1/integrations/{body['id']}", headers=auth("noah")).status_code == 403
    )
    assert client.delete(f"/api/v1/integrations/{body['id']}", headers=manager).status_code == 200
    assert client.delete(f"/api/v1/integrations/{body['id']}", headers=manager).status_code == 404


def test_dead_letters_are_listed_and_retried(svc: Services, client: TestClient, auth: Auth) -> None:
    class Refusing:
        def send(self, message: object) -> None:
            raise PermanentFailure("channel_not_found")

    svc.senders["console"] = Refusing()  # type: ignore[assignment]
    client.post("/api/v1/incidents", json={"title": "x"}, headers=auth("santhosh"))
    svc.worker().run_once()
    dead = client.get("/api/v1/messages?state=dead", headers=auth("noah")).json()
    assert len(dead) == 2 and {m["last_error"] for m in dead} == {"channel_not_found"}
    assert dead[0]["incident"] == "INC-1"
    svc.senders["console"] = ConsoleSender()
    retried = client.post(f"/api/v1/messages/{dead[0]['id']}/retry", headers=auth("noah"))
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    again = client.post(f"/api/v1/messages/{dead[0]['id']}/retry", headers=auth("noah"))
    assert again.status_code == 422 and "only dead messages" in again.json()["detail"]
    svc.worker().run_once()
    states = sorted(m["state"] for m in client.get("/api/v1/messages", headers=auth("noah")).json())
    assert states == ["dead", "sent"]
    timeline = client.get("/api/v1/incidents/INC-1/timeline", headers=auth("noah")).json()
    assert timeline[-1]["kind"] == "message_retried" and timeline[-1]["actor"] == "noah"
    assert client.post("/api/v1/messages/999/retry", headers=auth("noah")).status_code == 404
