"""A 202 from intake means committed: the server killed with SIGKILL right after its answer
still has every alert it answered 202 for, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import select

from escalator.app import build
from escalator.config.settings import Settings
from escalator.process.core import integrations
from escalator.store import migrate
from escalator.store.models import Alert
from tests.e2e.live import free_port, wait_up


def test_alerts_answered_202_survive_a_sigkill_right_after(
    database_url: str, tmp_path: Path
) -> None:
    svc = build(Settings(database_url=database_url))
    migrate.upgrade(svc.db)
    with svc.unit_of_work("dinesh") as ctx:
        _, secret = integrations.create(ctx, kind="alertmanager", name="prometheus")
    port = free_port()
    env = {**os.environ, "ESCALATOR_DATABASE_URL": database_url, "ESCALATOR_PORT": str(port)}
    env.pop("ESCALATOR_PROCESS_FILE", None)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "escalator", "serve"], env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    answered: list[str] = []
    try:
        wait_up(proc, f"{base}/healthz")
        with httpx.Client(timeout=30) as client:
            for n in range(20):
                names = [f"Kill{n}-{k}" for k in range(5)]
                body = {"alerts": [{"status": "firing", "labels": {"alertname": a}} for a in names]}
                posted = client.post(f"{base}/api/v1/intake/alertmanager?token={secret}", json=body)
                assert posted.status_code == 202, posted.text
                answered += names
        os.kill(proc.pid, signal.SIGKILL)  # at once: no shutdown, no last commit
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    with svc.db.read() as s:
        stored = set(s.scalars(select(Alert.title)))
    svc.db.dispose()
    assert set(answered) <= stored, sorted(set(answered) - stored)
