"""The picture of the console in the README: the incident page of an escalated SEV1 with its
clocks, responders and next step, in a throwaway SQLite database at a fixed time, served by a
real uvicorn and photographed in headless Chromium.

    .venv/bin/python bench/console_picture.py [--out docs/console.png]

Needs Chromium (Debian's ``chromium``; ``--chromium PATH`` or ESCALATOR_TEST_CHROMIUM).
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from escalator.api.server import create_app
from escalator.app import Services, build
from escalator.config.settings import Settings
from escalator.domain.severity import Answers
from escalator.process.alert import opening
from escalator.process.communicate import contacts
from escalator.process.core import incidents, tokens
from escalator.process.escalate import escalation, paging
from escalator.process.triage import assessment, playbooks
from escalator.store import migrate

START = datetime(2026, 11, 3, 9, 40, tzinfo=UTC)  # a Tuesday morning


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def _story(svc: Services, clock: Clock) -> str:
    """Three incidents; the second an escalated SEV1 on call has, with the SME joined."""
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="Invoice PDF shows last month's prices", caller="Ann")
    with svc.unit_of_work("system") as ctx:
        key = opening.open_incident(
            ctx,
            title="Checkout returns 502 for EU customers",
            source="alarm",
            channel="alertmanager",
            description="CheckoutErrors firing: 38% of POST /checkout answer 502 since 09:41 "
            "in eu-west-1. Payments provider latency is normal.",
            details={
                "service": "checkout",
                "labels": {"alertname": "CheckoutErrors", "region": "eu-west-1", "team": "pay"},
                "links": [{"url": "https://grafana.example.com/d/checkout", "text": "Dashboard"}],
            },
        ).key
    clock.at = START + timedelta(minutes=4)
    with svc.unit_of_work("santhosh") as ctx:
        incidents.acknowledge(ctx, key)
        playbooks.conclude(ctx, key, "not_applicable", note="no entry for 502s at checkout")
    clock.at = START + timedelta(minutes=11)
    with svc.unit_of_work("santhosh") as ctx:
        answers = Answers(4200, "key", "blocked", "losing_money", "ACME ops lead", "SEV1")
        assessment.evaluate(ctx, key, answers)
    clock.at = START + timedelta(minutes=14)
    with svc.unit_of_work("dinesh") as ctx:
        escalation.decide(ctx, key, "on_call", note="EU checkout down")
        # ACME's ops lead is kept updated (COMMUNICATE's clock: hourly at SEV1)
        contacts.add(ctx, key, name="Ann (ACME ops)", email="ann@acme.example.com")
    clock.at = START + timedelta(minutes=19)
    with svc.unit_of_work("michael") as ctx:
        incidents.acknowledge(ctx, key, note="looking at the eu-west-1 load balancers")
    clock.at = START + timedelta(minutes=50)
    with svc.unit_of_work("michael") as ctx:
        paging.bring_in(ctx, key, note="need the checkout SME")
    clock.at = START + timedelta(minutes=54)
    with svc.unit_of_work("jonathan") as ctx:
        paging.acknowledge(ctx, key)
    with svc.unit_of_work("santhosh") as ctx:
        opening.report(ctx, title="Password reset mail arrives late", caller="Bo")
    clock.at = START + timedelta(minutes=58)
    return key


def _serve(svc: Services) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(svc, run_worker=False), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/console.png")
    parser.add_argument(
        "--chromium", default=os.environ.get("ESCALATOR_TEST_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock(START)
        svc = build(
            Settings(database_url=f"sqlite:///{Path(tmp)}/demo.db"),
            clock=clock,  # type: ignore[arg-type]
        )
        migrate.upgrade(svc.db)
        key = _story(svc, clock)
        with svc.unit_of_work("bench") as ctx:
            token = tokens.create(ctx, person="michael").token
        server, thread, base = _serve(svc)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(f"{base}/login")
                page.fill("#token", token)
                page.click("button[type=submit]")
                page.goto(f"{base}/incidents/{key}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=args.out)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            svc.db.dispose()
    print(args.out)


if __name__ == "__main__":
    main()
