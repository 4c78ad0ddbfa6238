"""The picture of the weekly report in the README: two weeks of made-up incidents in a
throwaway SQLite database, the report of the second week rendered as its standalone HTML
file, and a screenshot of it in headless Chromium.

    .venv/bin/python bench/weekly_report_picture.py [--out docs/weekly-report.png]

Needs Chromium (Debian's ``chromium``; ``--chromium PATH`` or ESCALATOR_TEST_CHROMIUM). The
incidents are drawn from a fixed seed, so the picture only changes when the report does.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright

from escalator.app import build
from escalator.config.settings import Settings
from escalator.domain.severity import Answers
from escalator.domain.weekly import Week
from escalator.process.alert import opening
from escalator.process.core import incidents
from escalator.process.escalate import escalation
from escalator.process.postmortem import actions, report, retrospective
from escalator.process.triage import assessment, playbooks
from escalator.store import migrate
from escalator.web.weekly import standalone

ALARMS = [("PriceSyncLag", "pricing"), ("CheckoutErrors", "checkout"), ("QuoteApiErrors", "quotes")]
CUSTOMERS = [("Prices show $0 for ACME", "pricing"), ("Bulk import stuck", "bulk-import")]
CAUSES = ["new_release", "load", "config_change", "dependency_failure", "capacity"]
IMPACT = {
    "SEV2": Answers(40, None, "blocked", "none"),
    "SEV3": Answers(5, None, "degraded", "none"),
    "SEV4": Answers(1, None, "nice_to_have", "none"),
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def _process_file(folder: Path) -> Path:
    defaults = resources.files("escalator.defaults")
    shutil.copytree(str(defaults / "playbooks"), folder / "playbooks")
    spec = yaml.safe_load((defaults / "default-process.yaml").read_text())
    path = folder / "process.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _incident(svc, clock: Clock, rng: random.Random, opened: datetime, n: int) -> None:  # type: ignore[no-untyped-def]
    def at(minutes: float) -> None:
        clock.at = opened + timedelta(minutes=minutes)

    clock.at = opened
    customer = n % 3 == 2
    with svc.unit_of_work("santhosh" if customer else "system") as ctx:
        if customer:
            title, service = CUSTOMERS[n % len(CUSTOMERS)]
            key = opening.report(ctx, title=title, channel="phone", caller="Bob").key
        else:
            name, service = ALARMS[n % len(ALARMS)]
            key = opening.open_incident(
                ctx,
                title=f"{name} on {service}",
                source="alarm",
                channel="alertmanager",
                details={"service": service, "labels": {"alertname": name, "service": service}},
            ).key
    if not customer and n % 4 == 0:  # it clears by itself, nobody acts: noise
        at(rng.uniform(5, 25))
        with svc.unit_of_work("system") as ctx:
            incidents.resolve(ctx, key, note="all alerts resolved at the source")
        return
    at(rng.uniform(2, 20))
    with svc.unit_of_work("santhosh") as ctx:
        incidents.acknowledge(ctx, key)
    at(rng.uniform(20, 45))
    severity = rng.choice(["SEV2", "SEV3", "SEV3", "SEV4"])
    with svc.unit_of_work("santhosh") as ctx:
        assessment.evaluate(ctx, key, IMPACT[severity])
    if severity == "SEV2":
        at(rng.uniform(50, 70))
        with svc.unit_of_work("dinesh") as ctx:
            playbooks.conclude(ctx, key, "not_applicable")
            escalation.decide(ctx, key, "on_call")
    at(rng.uniform(90, 400))
    with svc.unit_of_work("santhosh") as ctx:
        incidents.resolve(ctx, key)
    with svc.unit_of_work("dinesh") as ctx:
        retrospective.update(
            ctx,
            key,
            root_cause=rng.choice(CAUSES),
            service=service,
            went_well="paged quickly",
            went_badly="no alarm before the customer called" if customer else "noisy alarm",
        )
    if n % 2:
        with svc.unit_of_work("dinesh") as ctx:
            actions.add(
                ctx,
                key,
                kind="docs_update",
                title=f"Runbook for {service}",
                owner="raja",
                due_at=clock.at + timedelta(days=rng.choice([1, 3, 6])),
            )


def build_demo(folder: Path) -> str:
    """The standalone HTML of week 45 of 2026, after two weeks of incidents."""
    clock = Clock(datetime(2026, 10, 26, 8, tzinfo=UTC))
    svc = build(
        Settings(database_url=f"sqlite:///{folder}/demo.db", process_file=_process_file(folder)),
        clock=clock,  # type: ignore[arg-type]
    )
    migrate.upgrade(svc.db)
    rng = random.Random(45)
    n = 0
    for week_start, count in (
        (datetime(2026, 10, 26, 8, tzinfo=UTC), 7),
        (datetime(2026, 11, 2, 8, tzinfo=UTC), 10),
    ):
        for i in range(count):
            opened = week_start + timedelta(hours=9 * i + rng.uniform(0, 6))
            _incident(svc, clock, rng, opened, n)
            n += 1
    clock.at = datetime(2026, 11, 6, 15, tzinfo=UTC)
    with svc.looking("dinesh") as ctx:
        html = standalone(report.weekly(ctx, Week(2026, 45)))
    svc.db.dispose()
    return html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/weekly-report.png")
    parser.add_argument("--html", help="also keep the report's HTML here")
    parser.add_argument(
        "--chromium", default=os.environ.get("ESCALATOR_TEST_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        html = build_demo(Path(tmp))
        page_file = Path(tmp) / "weekly.html"
        page_file.write_text(html, "utf-8")
        if args.html:
            shutil.copy(page_file, args.html)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            page.screenshot(path=args.out, full_page=True)
            browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
