"""Escalations falling due together, paged to a fake PagerDuty and Slack.

    .venv/bin/python bench/escalation.py [--postgres URL] [--incidents 100000] [--due 6000]

100,000 escalated incidents sit in the database, each with a pending resolution deadline;
6,000 of them have an on-call page whose acknowledgement time runs out at the same moment.
`escalator worker` processes (one on SQLite, two on PostgreSQL) then page the next person of
each: a PagerDuty event and a Slack DM each, besides the thread updates and console notes.

Prints: seconds from the moment they fell due until the last page reached the fakes, the
timers' lateness (p50/p99, as the workers recorded it), and each worker's peak memory. The
reference is LinkedIn's Iris rewrite: 6,000 escalations delivered in under 10 seconds; our
goal is under 3 seconds with p99 lateness under 1 second. Never part of the test suite.
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
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalator.app import build  # noqa: E402
from escalator.config.settings import Settings  # noqa: E402
from escalator.process.escalate import escalation, resolution  # noqa: E402
from escalator.store import migrate  # noqa: E402
from escalator.store.db import WORK_CHANNEL  # noqa: E402
from escalator.store.models import Incident, OutboxMessage, Page, Timer  # noqa: E402
from tests.escalation.conftest import write_process  # noqa: E402
from tests.fakes.http import FakeServer, Reply, Request  # noqa: E402
from tests.fakes.pagerduty import ROUTING_KEY  # noqa: E402
from tests.fakes.slack import TOKEN  # noqa: E402


class Peers:
    """PagerDuty and Slack in one small server that only counts and answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: dict[str, float] = {}  # PagerDuty page dedup_key -> arrival (wall clock)
        self.dms: dict[str, float] = {}  # DM text -> arrival
        self.requests = 0
        self.server = FakeServer(self._handle)
        self.url = self.server.url

    def _handle(self, request: Request) -> Reply:
        now = time.time()
        body = request.json()
        with self.lock:
            self.requests += 1
            if request.path.endswith("/enqueue"):
                key = body["dedup_key"]
                if body["event_action"] == "trigger" and "-page-" in key:
                    self.pages.setdefault(key, now)
                return Reply.json(
                    202, {"status": "success", "message": "Event processed", "dedup_key": key}
                )
            channel = body.get("channel", "")
            if request.path.endswith("chat.postMessage") and channel.startswith("U"):
                self.dms.setdefault(body.get("text", ""), now)
            return Reply.json(200, {"ok": True, "channel": channel or "C1", "ts": f"{now:.6f}"})


def seed(url: str, process_file: Path, incidents: int, due: int) -> None:
    """``due`` escalated incidents paging on call (the burst, then the steady stream), among
    ``incidents`` with a pending resolution deadline each."""
    svc = build(Settings(database_url=url, process_file=process_file))
    migrate.upgrade(svc.db)
    now = datetime.now(UTC)
    far = now + timedelta(days=30)
    with svc.unit_of_work("bench") as ctx:
        policy = {**escalation.policy_of(ctx), "path": "on_call"}
    chunk = 5000
    with svc.db.write() as s:
        for start in range(1, incidents + 1, chunk):
            ids = range(start, min(start + chunk, incidents + 1))
            s.execute(
                insert(Incident),
                [
                    {
                        "id": i,
                        "title": f"checkout errors {i}",
                        "description": "",
                        "source": "alarm",
                        "channel": "alertmanager",
                        "status": "open",
                        "stage": "escalate",
                        "owner_role": "on_call_engineer",
                        "owner_person": "michael",
                        "severity": "SEV2",
                        "reporter": "bench",
                        "details": {"service": "checkout"},
                        "created_at": now,
                        "updated_at": now,
                        "resolution_due_at": now + timedelta(hours=4),
                        "policy": policy,
                    }
                    for i in ids
                ],
            )
            s.execute(
                insert(Timer),
                [
                    {
                        "incident_id": i,
                        "kind": resolution.DEADLINE,
                        "due_at": now + timedelta(hours=4),
                        "state": "pending",
                        "payload": {"level": "high"},
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
        s.execute(
            insert(Page),
            [
                {
                    "id": i,
                    "incident_id": i,
                    "chain": "on_call",
                    "step": 0,
                    "target": "on_call_engineer",
                    "person": "michael",
                    "state": "paging",
                    "reason": "",
                    "paged_at": now,
                    "ack_due_at": far,
                }
                for i in range(1, due + 1)
            ],
        )
        s.execute(
            insert(Timer),
            [
                {
                    "incident_id": i,
                    "kind": "escalation.ack_timeout",
                    "due_at": far,
                    "state": "pending",
                    "payload": {"page": i},
                    "created_at": now,
                }
                for i in range(1, due + 1)
            ],
        )
        s.execute(
            insert(OutboxMessage),
            [
                {
                    "incident_id": i,
                    "channel": "slack",
                    "destination": "#alerts",
                    "subject": f"INC-{i}",
                    "body": "",
                    "payload": {"op": "root"},
                    "idempotency_key": f"slack:root:{i}",
                    "state": "sent",
                    "attempts": 1,
                    "next_attempt_at": now,
                    "created_at": now,
                    "sent_at": now,
                    "result": {"channel": "CALERTS", "ts": f"1.{i}"},
                }
                for i in range(1, due + 1)
            ],
        )
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT setval('incidents_id_seq', :n)"), {"n": incidents})
            s.execute(text("SELECT setval('pages_id_seq', :n)"), {"n": due})
    if svc.db.is_postgres:
        with svc.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    svc.db.dispose()


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def made_work(conn: Any) -> None:
    """What every committing use case does on PostgreSQL: wake the idle workers (NOTIFY), so
    that timers moved by the benchmark's own UPDATE are not found only at the next idle poll."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WORK_CHANNEL})


def steady_lateness(engine: Any, first: int, count: int, per_second: float) -> list[int]:
    """Timers falling due one after the other at ``per_second`` while 100,000 others wait:
    each one's lateness (ms) as the workers recorded it."""
    start = datetime.now(UTC) + timedelta(seconds=3)
    ids = range(first, first + count)
    with engine.begin() as conn:
        conn.execute(
            update(Timer)
            .where(Timer.kind == "escalation.ack_timeout", Timer.incident_id == bindparam("i"))
            .values(due_at=bindparam("at")),
            [{"i": i, "at": start + timedelta(seconds=n / per_second)} for n, i in enumerate(ids)],
        )
        made_work(conn)
    deadline = time.time() + 3 + count / per_second + 120
    fired = select(Timer.late_ms).where(
        Timer.kind == "escalation.ack_timeout",
        Timer.state == "fired",
        Timer.incident_id >= first,
        Timer.incident_id < first + count,
    )
    late: list[int] = []
    while time.time() < deadline:
        with engine.connect() as conn:
            late = sorted(conn.scalars(fired))
        if len(late) == count:
            break
        time.sleep(0.5)
    return late


def percentile(values: list[int], q: float) -> int | None:
    return values[max(int(len(values) * q) - 1, 0)] if values else None


def run(
    label: str,
    url: str,
    workers: int,
    incidents: int,
    due: int,
    workdir: Path,
    steady: int = 0,
) -> dict[str, Any]:
    process_file = write_process(workdir / f"{label}-process.yaml")
    t0 = time.monotonic()
    seed(url, process_file, incidents, due + steady)
    seeded = time.monotonic() - t0
    peers = Peers()
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": url,
        "ESCALATOR_PROCESS_FILE": str(process_file),
        "ESCALATOR_SLACK_BOT_TOKEN": TOKEN,
        "ESCALATOR_SLACK_API_URL": f"{peers.url}/api/",
        "ESCALATOR_PAGERDUTY_EVENTS_URL": f"{peers.url}/v2/enqueue",
        "ESCALATOR_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "ESCALATOR_RATE_LIMITS": "false",  # the fakes have no limits; PagerDuty's would pace 6,000 pages over an hour
    }
    procs = []
    for n in range(workers):
        log = (workdir / f"{label}-worker-{n}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "escalator", "worker"], env=env, stdout=log, stderr=log
            )
        )
    try:
        time.sleep(3)  # workers started and idle
        engine = create_engine(url)
        due_at = datetime.now(UTC) + timedelta(seconds=2)
        with engine.begin() as conn:
            conn.execute(
                update(Timer)
                .where(Timer.kind == "escalation.ack_timeout", Timer.incident_id <= due)
                .values(due_at=due_at)
            )
            made_work(conn)
        due_wall = due_at.timestamp()
        deadline = time.time() + 600
        while (len(peers.pages) < due or len(peers.dms) < due) and time.time() < deadline:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker died; see {workdir}")
            time.sleep(0.05)
        delivered = max([*peers.pages.values(), *peers.dms.values()]) - due_wall
        memory = [peak_kib(p.pid) for p in procs]
        with engine.connect() as conn:
            late = sorted(
                conn.scalars(
                    select(Timer.late_ms).where(
                        Timer.kind == "escalation.ack_timeout",
                        Timer.state == "fired",
                        Timer.incident_id <= due,
                    )
                )
            )
        steady_late = steady_lateness(engine, due + 1, steady, 10.0) if steady else []
        engine.dispose()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        peers.server.close()
    return {
        "label": label,
        "workers": workers,
        "incidents": incidents,
        "due": due,
        "seed_seconds": round(seeded, 1),
        "pages_at_pagerduty": len(peers.pages),
        "dms_at_slack": len(peers.dms),
        "http_requests": peers.requests,
        "delivered_seconds": round(delivered, 2),
        "lateness_ms_p50": statistics.median(late) if late else None,
        "lateness_ms_p99": percentile(late, 0.99),
        "steady_timers": steady,
        "steady_fired": len(steady_late),
        "steady_lateness_ms_p50": percentile(steady_late, 0.5),
        "steady_lateness_ms_p99": percentile(steady_late, 0.99),
        "worker_peak_mib": [round(m / 1024) for m in memory],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", help="postgresql+psycopg://… (a fresh schema is made and dropped)"
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=6_000)
    parser.add_argument(
        "--steady",
        type=int,
        default=300,
        help="after the burst, this many timers falling due at 10 a second (0: none)",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results.append(
            run(
                "sqlite",
                f"sqlite:///{workdir}/bench.db",
                1,
                args.incidents,
                args.due,
                workdir,
                args.steady,
            )
        )
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            try:
                url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
                results.append(
                    run("postgresql", url, 2, args.incidents, args.due, workdir, args.steady)
                )
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    for r in results:
        print(json.dumps(r))
        goal = (
            "met"
            if r["delivered_seconds"] < 3 and (r["lateness_ms_p99"] or 0) < 1000
            else "NOT met"
        )
        print(
            f"{r['label']} ({r['workers']} worker{'s' if r['workers'] > 1 else ''}): {r['due']:,} escalations "
            f"among {r['incidents']:,} incidents delivered in {r['delivered_seconds']} s "
            f"(Iris: <10 s → {10 / max(r['delivered_seconds'], 0.001):.1f}x; goal 3 s {goal}); "
            f"timer lateness p50 {r['lateness_ms_p50']} ms, p99 {r['lateness_ms_p99']} ms; "
            f"worker peak memory {r['worker_peak_mib']} MiB"
        )
        if r["steady_timers"]:
            p99 = r["steady_lateness_ms_p99"]
            steady_goal = "met" if p99 is not None and p99 < 1000 else "NOT met"
            print(
                f"{r['label']} steady state: {r['steady_fired']:,} of {r['steady_timers']:,} "
                f"timers due at 10/s among {r['incidents']:,} pending fired; lateness p50 "
                f"{r['steady_lateness_ms_p50']} ms, p99 {p99} ms (GoAlert's engine cycle 5 s "
                f"→ {5000 / max(p99 or 1, 1):.1f}x; goal p99 < 1 s {steady_goal})"
            )


if __name__ == "__main__":
    main()
