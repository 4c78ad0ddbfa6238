"""`escalator serve` as a user starts it: a fresh SQLite file, migrated on start, answering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx

from tests.e2e.live import free_port, wait_up


def test_serve_starts_on_a_fresh_database_and_serves_console_and_docs(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": f"sqlite:///{tmp_path}/var/escalator.db",
        "ESCALATOR_PORT": str(port),
        "ESCALATOR_ACCESS_LOG": "true",
    }
    env.pop("ESCALATOR_PROCESS_FILE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "escalator", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(proc, f"{base}/readyz")
        assert httpx.get(f"{base}/docs").status_code == 200
        login = httpx.get(f"{base}/", follow_redirects=True)
        assert login.url.path == "/login" and "API token" in login.text
        assert httpx.get(f"{base}/static/htmx.min.js").status_code == 200
        refused = httpx.post(f"{base}/api/v1/intake/generic?token=esi_SeCrEt", json={})
        assert refused.status_code == 401
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0].decode()
    assert "/api/v1/intake/generic?token=[redacted]" in output
    assert "esi_SeCrEt" not in output, "secrets never reach the logs"
    assert (tmp_path / "var" / "escalator.db").exists()
