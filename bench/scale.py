"""What a year of incidents costs: 200,000 incidents and 1,000,000 stored alerts.

    .venv/bin/python bench/scale.py [--postgres URL] [--incidents 200000] [--alerts 1000000]

Seeds the database (with the outbox, timers and timeline a year leaves behind), then runs
`escalator serve` (worker off) and one `escalator worker` as a user would, and measures:
the incident list API's first page and the console's incident list (p50/p95 of 200 requests
each, goal p95 < 50 ms), `/metrics` (p95 of 50 scrapes, goal < 100 ms), and each process's
resident memory after the run (goal < 200 MB each). Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalator.app import build  # noqa: E402
from escalator.config.settings import Settings  # noqa: E402
from escalator.process.core import tokens  # noqa: E402
from escalator.store import migrate  # noqa: E402
from escalator.store.models import (  # noqa: E402
    Alert,
    Incident,
    OutboxMessage,
    TimelineEvent,
    Timer,
)
from tests.e2e.live import free_port  # noqa: E402

CHUNK = 5000


def seed(url: str, incidents: int, alerts: int) -> str:
    """Returns an API token for santhosh."""
    svc = build(Settings(database_url=url))
    migrate.upgrade(svc.db)
    start = datetime.now(UTC) - timedelta(days=365)
    per_incident = max(1, alerts // incidents)
    statuses = ("closed",) * 90 + ("resolved",) * 8 + ("acknowledged", "open")
    with svc.db.write() as s:
        for first in range(1, incidents + 1, CHUNK):
            ids = range(first, min(first + CHUNK, incidents + 1))
            at = {i: start + timedelta(seconds=i * 150) for i in ids}
            s.execute(
                insert(Incident),
                [
                    {
                        "id": i,
                        "title": f"price sync lagging on shard {i % 97}",
                        "description": "",
                        "source": "alarm",
                        "channel": "alertmanager",
                        "status": statuses[i % 100],
                        "stage": "postmortem"
                        if statuses[i % 100] in ("closed", "resolved")
                        else "triage",
                        "owner_role": "first_tier",
                        "owner_person": "santhosh",
                        "severity": f"SEV{1 + i % 4}",
                        "reporter": "bench",
                        "details": {"service": f"svc-{i % 40}"},
                        "created_at": at[i],
                        "updated_at": at[i],
                    }
                    for i in ids
                ],
            )
            s.execute(
                insert(TimelineEvent),
                [
                    {
                        "incident_id": i,
                        "at": at[i],
                        "actor": "system",
                        "kind": kind,
                        "note": "",
                        "data": {},
                    }
                    for i in ids
                    for kind in ("opened", "assigned", "acknowledge", "resolve")
                ],
            )
            s.execute(
                insert(Timer),
                [
                    {
                        "incident_id": i,
                        "kind": kind,
                        "due_at": at[i] + timedelta(minutes=30),
                        "state": "cancelled",
                        "payload": {},
                        "created_at": at[i],
                    }
                    for i in ids
                    for kind in ("triage.warning", "triage.deadline")
                ],
            )
            s.execute(
                insert(OutboxMessage),
                [
                    {
                        "incident_id": i,
                        "channel": "console",
                        "destination": person,
                        "subject": f"[INC-{i}] New alarm incident",
                        "body": "",
                        "payload": {},
                        "idempotency_key": f"bench:{i}:{n}:{person}",
                        "state": "sent",
                        "attempts": 1,
                        "next_attempt_at": at[i],
                        "created_at": at[i],
                        "sent_at": at[i],
                        "result": {},
                    }
                    for i in ids
                    for n, person in enumerate(("santhosh", "dinesh", "raja", "noah", "vijay"))
                ],
            )
            s.execute(
                insert(Alert),
                [
                    {
                        "source": "alertmanager",
                        "fingerprint": f"{i}-{n}",
                        "status": "resolved",
                        "title": f"price sync lagging on shard {i % 97}",
                        "description": "",
                        "service": f"svc-{i % 40}",
                        "severity": "critical",
                        "labels": {"alertname": "PriceSyncLag", "instance": f"i{n}"},
                        "annotations": {},
                        "links": [],
                        "group_key": f"PriceSyncLag|svc-{i % 40}",
                        "first_seen": at[i],
                        "last_seen": at[i],
                        "fire_count": 1,
                        "pending": False,
                        "seen_status": "resolved",
                        "incident_id": i,
                    }
                    for i in ids
                    for n in range(per_incident)
                ],
            )
        if svc.db.is_postgres:
            s.execute(text("SELECT setval('incidents_id_seq', :n)"), {"n": incidents})
    if svc.db.is_postgres:
        with svc.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    with svc.unit_of_work("bench") as ctx:
        token = tokens.create(ctx, person="santhosh").token
    svc.db.dispose()
    return token


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def timed(client: httpx.Client, url: str, times: int, **kw: Any) -> dict[str, float]:
    took = []
    for _ in range(times):
        t0 = time.perf_counter()
        response = client.get(url, **kw)
        took.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    took.sort()
    return {
        "p50_ms": round(statistics.median(took), 1),
        "p95_ms": round(took[int(len(took) * 0.95) - 1], 1),
    }


def run(label: str, url: str, incidents: int, alerts: int, workdir: Path) -> dict[str, Any]:
    t0 = time.monotonic()
    token = seed(url, incidents, alerts)
    seeded = time.monotonic() - t0
    port = free_port()
    env = {**os.environ, "ESCALATOR_DATABASE_URL": url, "ESCALATOR_PORT": str(port)}
    server_log = (workdir / f"{label}-serve.log").open("wb")
    worker_log = (workdir / f"{label}-worker.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "escalator", "serve"],
        env={**env, "ESCALATOR_RUN_WORKER": "false"},
        stdout=server_log,
        stderr=server_log,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "escalator", "worker"], env=env, stdout=worker_log, stderr=worker_log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"escalator serve did not become ready; see {workdir}")
                time.sleep(0.2)
            api = timed(
                client,
                f"{base}/api/v1/incidents",
                200,
                headers={"Authorization": f"Bearer {token}"},
            )
            signed = client.post(f"{base}/login", data={"token": token})
            assert signed.status_code in (200, 303), signed.text[:300]
            console = timed(client, f"{base}/incidents", 200)
            metrics = timed(client, f"{base}/metrics", 50)
        memory = {"serve": rss_mib(serve.pid), "worker": rss_mib(worker.pid)}
    finally:
        for proc in (serve, worker):
            proc.terminate()
        for proc in (serve, worker):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "label": label,
        "incidents": incidents,
        "alerts": alerts,
        "seed_seconds": round(seeded, 1),
        "incident_list_api": api,
        "console_incident_list": console,
        "metrics": metrics,
        "rss_mib": memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", help="postgresql+psycopg://… (a fresh schema is made and dropped)"
    )
    parser.add_argument("--incidents", type=int, default=200_000)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results.append(
            run("sqlite", f"sqlite:///{workdir}/scale.db", args.incidents, args.alerts, workdir)
        )
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            try:
                url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
                results.append(run("postgresql", url, args.incidents, args.alerts, workdir))
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    for r in results:
        print(json.dumps(r))
        checks = [
            ("incident list API p95", r["incident_list_api"]["p95_ms"], 50, "ms"),
            ("console incident list p95", r["console_incident_list"]["p95_ms"], 50, "ms"),
            ("/metrics p95", r["metrics"]["p95_ms"], 100, "ms"),
            ("serve RSS", r["rss_mib"]["serve"], 200, "MiB"),
            ("worker RSS", r["rss_mib"]["worker"], 200, "MiB"),
        ]
        for name, value, goal, unit in checks:
            verdict = "met" if value < goal else "NOT met"
            print(f"{r['label']}: {name} {value} {unit} (goal < {goal} {unit}: {verdict})")


if __name__ == "__main__":
    main()
