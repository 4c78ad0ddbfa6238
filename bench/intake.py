"""Durable intake, measured against the real Alertmanager 0.25 on the same machine.

    make bench            (or: .venv/bin/python bench/intake.py [--seconds 10])

1. Throughput: wrk posts Alertmanager webhooks (1 alert, then 100 alerts a post, every alert
   unique) to `escalator serve` on SQLite; the same alerts go to Alertmanager's own
   POST /api/v2/alerts. Escalator answers 202 only once the alerts are committed. Each shape
   runs twice: with the worker off (intake alone), and as a user runs it — the worker on, the
   alerts spread over 50 alert names so that 50 incidents grow at once — which also reports
   the worker's lag: how long after the last post every accepted alert is on its incident.
2. Latency: alerts posted one at a time at a steady rate to Escalator with its worker and a
   fake Slack; time from the post to the first Slack request naming the alert (p50/p99).

Prints both systems' figures and the ratios. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import httpx2 as httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalator.app import build  # noqa: E402
from escalator.config.settings import Settings  # noqa: E402
from escalator.process.core import integrations  # noqa: E402
from escalator.store import migrate  # noqa: E402
from tests.fakes.slack import TOKEN, FakeSlack  # noqa: E402

BENCH = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}; see its log")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not become ready")


def wrk(
    url: str, fmt: str, alerts: int, seconds: int, connections: int, groups: int = 1
) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(BENCH / "alerts.lua"),
            url,
        ],
        env={**os.environ, "ALERTS": str(alerts), "FORMAT": fmt, "GROUPS": str(groups)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "posts_per_s": rps,
        "alerts_per_s": rps * alerts,
        "posts": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
    }


def unthrottled_process(tmp: Path) -> Path:
    """The default process, with the bench's integration let past intake flood control."""
    defaults = resources.files("escalator.defaults")
    spec = yaml.safe_load((defaults / "default-process.yaml").read_text())
    spec["playbooks"]["directory"] = str(defaults / "playbooks")
    spec["intake"]["rate_limit"]["integrations"] = {
        "bench": {"per_second": 1_000_000, "burst": 1_000_000}
    }
    path = tmp / "process.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def escalator_server(
    tmp: Path, port: int, *, worker: bool, extra: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ESCALATOR_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "ESCALATOR_PROCESS_FILE": str(unthrottled_process(tmp)),
        "ESCALATOR_PORT": str(port),
        "ESCALATOR_RUN_WORKER": "true" if worker else "false",
        "ESCALATOR_WORKER_POLL_SECONDS": "0.05",
        **extra,
    }
    with open(tmp / "serve.log", "wb") as log:  # a pipe nobody reads would stall the server
        return subprocess.Popen(
            [sys.executable, "-m", "escalator", "serve"],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def alertmanager(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        raise SystemExit("install Alertmanager: apt-get install prometheus-alertmanager")
    config = tmp / "alertmanager.yml"
    config.write_text(
        "route: {receiver: blackhole, group_by: [alertname, service]}\nreceivers: [{name: blackhole}]\n"
    )
    with open(tmp / "alertmanager.log", "wb") as log:
        return subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp / 'am'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def stored_alerts(tmp: Path, *, pending: bool = False) -> int:
    with sqlite3.connect(tmp / "bench.db") as conn:
        where = " WHERE pending = 1" if pending else ""
        return int(conn.execute(f"SELECT count(*) FROM alerts{where}").fetchone()[0])


def worker_lag(tmp: Path, seconds: float = 600) -> float:
    """Seconds from now until the worker has put every stored alert on its incident."""
    start = time.monotonic()
    while stored_alerts(tmp, pending=True) and time.monotonic() - start < seconds:
        time.sleep(0.05)
    return round(time.monotonic() - start, 2)


def setup_db(tmp: Path, kind: str = "alertmanager") -> str:
    svc = build(Settings(database_url=f"sqlite:///{tmp}/bench.db"))
    migrate.upgrade(svc.db)
    with svc.unit_of_work("dinesh") as ctx:
        _, secret = integrations.create(ctx, kind=kind, name="bench")
    svc.db.dispose()
    return secret


CASES = {"escalator": (False, 1), "escalator_storm": (True, 50)}


def throughput(
    seconds: int,
    connections: int,
    shapes: tuple[int, ...] = (1, 100),
    cases: tuple[str, ...] = ("escalator", "escalator_storm", "alertmanager"),
) -> dict[str, dict[str, dict[str, float]]]:
    results: dict[str, dict[str, dict[str, float]]] = {case: {} for case in cases}
    for alerts in shapes:
        for label, (worker, groups) in CASES.items():
            if label not in cases:
                continue
            with tempfile.TemporaryDirectory() as name:
                tmp = Path(name)
                secret = setup_db(tmp)
                port = free_port()
                proc = escalator_server(tmp, port, worker=worker, extra={})
                try:  # /healthz: with its worker off, serve is up but not "ready"
                    wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
                    url = f"http://127.0.0.1:{port}/api/v1/intake/alertmanager?token={secret}"
                    result = wrk(url, "webhook", alerts, seconds, connections, groups)
                    if worker:
                        result["worker_lag_s"] = worker_lag(tmp)
                finally:
                    stop(proc)
                result["stored"] = stored_alerts(tmp)
                results[label][str(alerts)] = result
        if "alertmanager" not in cases:
            continue
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            port = free_port()
            proc = alertmanager(tmp, port)
            try:
                wait_ready(f"http://127.0.0.1:{port}/-/ready", proc)
                result = wrk(
                    f"http://127.0.0.1:{port}/api/v2/alerts",
                    "api",
                    alerts,
                    seconds,
                    connections,
                )
            finally:
                stop(proc)
            results["alertmanager"][str(alerts)] = result
    return results


def latency(count: int, rate: float) -> dict[str, float]:
    slack = FakeSlack()
    arrived: dict[str, float] = {}
    original = slack._chat_postMessage

    def record(args: dict) -> dict:  # type: ignore[type-arg]
        found = re.search(r"bench-lat-(\d+)", str(args.get("text", "")))
        if found and found.group(0) not in arrived:
            arrived[found.group(0)] = time.perf_counter()
        return original(args)

    slack._chat_postMessage = record  # type: ignore[method-assign]
    sent: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        secret = setup_db(tmp)
        port = free_port()
        proc = escalator_server(
            tmp,
            port,
            worker=True,
            extra={"ESCALATOR_SLACK_BOT_TOKEN": TOKEN, "ESCALATOR_SLACK_API_URL": slack.base_url},
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
            url = f"http://127.0.0.1:{port}/api/v1/intake/alertmanager?token={secret}"
            with httpx.Client() as client:
                for n in range(count):
                    title = f"bench-lat-{n}"
                    body = {
                        "version": "4",
                        "alerts": [{"status": "firing", "labels": {"alertname": title}}],
                    }
                    sent[title] = time.perf_counter()
                    client.post(url, json=body).raise_for_status()
                    time.sleep(1 / rate)
            deadline = time.monotonic() + 30
            while len(arrived) < count and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop(proc)
            slack.close()
    waits = sorted((arrived[k] - sent[k]) * 1000 for k in sent if k in arrived)
    if not waits:
        raise SystemExit("no alert reached the fake Slack")
    return {
        "alerts": count,
        "delivered": len(waits),
        "p50_ms": statistics.median(waits),
        "p99_ms": waits[min(len(waits) - 1, int(len(waits) * 0.99))],
    }


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as info:
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def _per_second(a: dict[str, float] | None, b: dict[str, float] | None) -> float:
    if not a or not b or not b["alerts_per_s"]:
        return float("nan")
    return a["alerts_per_s"] / b["alerts_per_s"]


def report(results: dict[str, dict[str, dict[str, float]]], shapes: tuple[int, ...]) -> None:
    print(
        f"{'shape':<16}{'Escalator alerts/s':>20}{'Alertmanager alerts/s':>24}{'ratio':>8}"
        f"{'Esc p99 ms':>12}{'AM p99 ms':>11}"
    )
    for shape in map(str, shapes):
        esc = results.get("escalator", {}).get(shape)
        am = results.get("alertmanager", {}).get(shape)
        storm = results.get("escalator_storm", {}).get(shape)
        nan = float("nan")
        print(
            f"{shape + ' alert(s)/post':<16}{esc['alerts_per_s'] if esc else nan:>20,.0f}"
            f"{am['alerts_per_s'] if am else nan:>24,.0f}{_per_second(esc, am):>8.2f}"
            f"{esc['p99_ms'] if esc else nan:>12.1f}{am['p99_ms'] if am else nan:>11.1f}"
        )
        for label, run in (("escalator", esc), ("alertmanager", am), ("as users run it", storm)):
            if run and (run["non_2xx"] or run["socket_errors"]):
                print(f"   errors ({label}): non-2xx {run['non_2xx']} {run['socket_errors']}")
        if esc:
            print(
                f"   durable check: {esc['stored']:,} alerts in Escalator's database after "
                f"{esc['posts']:,} posts"
            )
        if storm:
            print(
                f"   as users run it (worker on, 50 incidents growing): "
                f"{storm['alerts_per_s']:,.0f} alerts/s ({_per_second(storm, esc):.2f} of intake "
                f"alone, goal 1.0; {_per_second(storm, am):.2f} x Alertmanager), p99 "
                f"{storm['p99_ms']:.1f} ms; every alert on its incident {storm['worker_lag_s']} s "
                f"after the last post; {storm['stored']:,} stored after {storm['posts']:,} posts"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--shapes", default="1,100", help="alerts a post, comma-separated")
    parser.add_argument(
        "--cases",
        default="escalator,escalator_storm,alertmanager",
        help="escalator (worker off), escalator_storm (as users run it), alertmanager",
    )
    parser.add_argument("--latency-alerts", type=int, default=50, help="0: skip the latency run")
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=5.0,
        help="alerts a second (Slack allows about 1 a second a channel; a burst of 60 goes at once)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("install wrk: apt-get install wrk")
    shapes = tuple(int(n) for n in args.shapes.split(","))
    cases = tuple(args.cases.split(","))
    if unknown := set(cases) - {*CASES, "alertmanager"}:
        raise SystemExit(f"unknown cases {sorted(unknown)}")

    print(f"machine: {machine()}")
    results = throughput(args.seconds, args.connections, shapes, cases)
    lat = latency(args.latency_alerts, args.latency_rate) if args.latency_alerts else None
    print(f"\nintake, wrk -t2 -c{args.connections} -d{args.seconds}s, every alert unique")
    report(results, shapes)
    if lat:
        print(
            f"\nintake → first Slack request ({lat['delivered']}/{lat['alerts']} alerts at "
            f"{args.latency_rate:g}/s): p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "throughput": results, "latency": lat}, indent=2)
        )


if __name__ == "__main__":
    main()
