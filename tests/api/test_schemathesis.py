"""Schemathesis over the OpenAPI document, in process: for every operation, valid and invalid
requests from the schema, signed in as a person who holds every role. No answer may be a
server error, every status must be documented, and every body must match its schema.

Nothing is excluded. To reach past "no such incident", half of the generated requests have
their path parameters replaced by ones that exist (seeded below), and half of those to intake
carry the kind's integration secret; the other half keep what Schemathesis made up. It runs on
SQLite, and on PostgreSQL when ESCALATOR_TEST_DATABASE_URL is set; SCHEMATHESIS_EXAMPLES
raises the number of requests per operation for a longer hunt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from escalator.api.server import create_app
from escalator.app import Services, build
from escalator.config.settings import Settings
from escalator.process.alert import opening
from escalator.process.core import incidents, integrations, signing
from escalator.process.core import tokens as api_tokens
from escalator.process.escalate import rotations
from escalator.process.remediate import council, decisions
from escalator.process.triage import report
from escalator.store import migrate
from tests.conftest import pg_schema
from tests.fakes import FakeClock

DEFAULTS = Path(__file__).parents[2] / "escalator" / "defaults"
EVERYONE = "raja"  # given every role below
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
# ids and names that exist once the fixture has seeded the database
EXISTING: dict[str, list[Any]] = {
    "key": ["INC-1", "INC-2", "INC-3"],
    "rotation": ["on_call", "sme"],
    "role": ["on_call_engineer", "sme", "first_tier"],
    "integration_id": [1, 2],
    "message_id": [1, 2, 3],
    "override_id": [1],
    "swap_id": [1],
    "file_id": [1],
    "entry": ["zero-prices", "bulk-import"],
    "step": [0, 1],
    "decision_id": [1, 2],
    "kind": ["rotation", "person"],  # of a calendar feed; of intake: integrations.KINDS
    "name": ["on_call", EVERYONE],
}
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))  # per operation and mode


def _operations() -> list[str]:
    app = create_app(build(Settings(database_url="sqlite://")), run_worker=False)
    return [f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops]


@dataclass
class Api:
    app: FastAPI
    svc: Services
    token: str
    secrets: dict[str, str]  # an integration's per kind
    schema: schemathesis.BaseSchema


def _process_file(folder: Path) -> Path:
    """The default process with one person in every role and at the head of every rotation."""
    spec = yaml.safe_load((DEFAULTS / "default-process.yaml").read_text())
    for role in spec["roles"].values():
        if "holders" in role and EVERYONE not in role["holders"]:
            role["holders"].append(EVERYONE)
    for rotation in spec["rotations"].values():
        rotation["members"].insert(0, EVERYONE)
    spec["playbooks"]["directory"] = str(DEFAULTS / "playbooks")
    path = folder / "process.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _seed(svc: Services) -> tuple[str, dict[str, str]]:
    with svc.unit_of_work(EVERYONE) as ctx:
        token = api_tokens.create(ctx, person=EVERYONE).token
        for title in ("Prices show $0 for ACME", "Bulk import stuck", "Quote API errors"):
            opening.report(ctx, title=title, caller="Bob", account="acme")
        incidents.acknowledge(ctx, "INC-2")
        incidents.resolve(ctx, "INC-3")
        report.upload(
            ctx, "INC-1", filename="log.txt", content_type="text/plain", data=b"x", max_bytes=99
        )
        secrets = {
            kind: integrations.create(ctx, kind=kind, name=f"seeded-{kind}")[1]
            for kind in integrations.KINDS
        }
        council.bring(ctx, "INC-1", note="for the council")
        decisions.decide(
            ctx, "INC-1", "rollback_release", reasons="seeded", params={"release": "r1"}
        )
        start = ctx.now + timedelta(days=1)
        rotations.add_override(
            ctx, "on_call", person="vijay", start=start, end=start + timedelta(hours=4)
        )
        rotations.add_swap(ctx, "on_call", first=ctx.now, second=ctx.now + timedelta(weeks=1))
    svc.worker().round()  # its heartbeat makes /readyz ready (the fake clock stands still)
    return token, secrets


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder}/escalator.db"
    else:
        with pg_schema() as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("schemathesis")
    with _database(request.param, folder) as url:
        settings = Settings(database_url=url, process_file=_process_file(folder))
        svc = build(settings, clock=FakeClock())
        migrate.upgrade(svc.db)
        token, secrets = _seed(svc)
        app = create_app(svc, run_worker=False)
        with TestClient(app):  # runs the lifespan: intake state, as under uvicorn
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            yield Api(app, svc, token, secrets, schema)
        svc.db.dispose()


def _existing(case: schemathesis.Case, data: st.DataObject, api: Api) -> str:
    """Point half of the requests at things that exist; the token to send."""
    params = case.path_parameters or {}
    if not params or not data.draw(st.booleans(), label="existing"):
        return api.token
    if case.operation.path.startswith("/api/v1/intake/"):
        params["kind"] = data.draw(st.sampled_from(integrations.KINDS), label="kind")
        return api.secrets[params["kind"]]
    for name in params:
        if name in EXISTING:
            params[name] = data.draw(st.sampled_from(EXISTING[name]), label=name)
    if case.operation.path.startswith("/calendar/") and isinstance(case.query, dict):
        kind, name = params["kind"], params["name"]
        case.query["token"] = signing.feed_token(api.svc.links.key, kind, name)
    return api.token


@pytest.mark.parametrize("operation", _operations())
def test_the_api_keeps_its_documented_promises(api: Api, operation: str) -> None:
    found = api.schema.find_operation_by_label(operation)
    assert found is not None
    cases = st.one_of(
        found.as_strategy(GenerationMode.POSITIVE), found.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases, data=st.data())
    @settings(max_examples=2 * EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        token = _existing(case, data, api)
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()
