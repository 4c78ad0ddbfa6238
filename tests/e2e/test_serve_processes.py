"""`escalator serve --workers N`: N server processes share the port and the work, and exactly
one worker runs among them, so SQLite keeps one writer of the worker's kind and every timer
fires once; alerts posted to any process are folded by it. The SMTP listener runs once too
(N of them could not share its port)."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import func, select

from escalator.app import build
from escalator.config.settings import Settings
from escalator.process.core import integrations
from escalator.store import migrate
from escalator.store.models import Alert, WorkerHeartbeat
from tests.e2e.live import free_port, wait_up


def test_serve_with_two_processes_runs_one_worker_and_folds_what_either_takes(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/escalator.db"
    svc = build(Settings(database_url=url))
    migrate.upgrade(svc.db)
    with svc.unit_of_work("dinesh") as ctx:
        _, secret = integrations.create(ctx, kind="generic", name="nagios")
    port, smtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": url,
        "ESCALATOR_PORT": str(port),
        "ESCALATOR_WORKER_POLL_SECONDS": "0.1",
        "ESCALATOR_INBOUND_SMTP_PORT": str(smtp_port),
    }
    env.pop("ESCALATOR_PROCESS_FILE", None)
    env.pop("ESCALATOR_RUN_WORKER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "escalator", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        wait_up(proc, f"{base}/readyz")
        with httpx.Client() as client:  # new connections: the kernel spreads them over both
            for n in range(40):
                body = {"title": f"disk full on db{n}", "fingerprint": f"disk-{n}"}
                posted = client.post(
                    f"{base}/api/v1/intake/generic?token={secret}",
                    json=body,
                    headers={"Connection": "close"},
                )
                assert posted.status_code == 202, posted.text
        while True:
            with svc.db.read() as s:
                pending = s.scalar(select(func.count()).where(Alert.pending.is_(True)))
            if not pending:
                break
            assert time.monotonic() < deadline + 30, f"{pending} alerts never folded"
            time.sleep(0.1)
        time.sleep(1.0)  # time enough for a second worker, were there one, to beat
        with svc.db.read() as s:
            workers = s.scalars(select(WorkerHeartbeat.worker_id)).all()
        assert len(workers) == 1, f"one worker among the server processes, not {workers}"
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:  # one listener, up
            assert smtp.noop()[0] == 250
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
        svc.db.dispose()
    assert "Traceback" not in output, output
