"""Related search over 100,000 past incidents: p50/p95/p99 per search, SQLite and PostgreSQL.

    .venv/bin/python bench/search.py [--docs 100000] [--searches 500]
                                     [--postgres postgresql+psycopg://postgres@127.0.0.1/test]

Goal (issue 4): p95 under 50 ms. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from escalator.process.triage import related  # noqa: E402
from escalator.store import migrate, search  # noqa: E402
from escalator.store.db import Database, normalize_url  # noqa: E402
from escalator.store.models import Incident, SearchDoc  # noqa: E402

WORDS = [
    "price",
    "prices",
    "pricing",
    "quote",
    "quotes",
    "checkout",
    "storefront",
    "catalogue",
    "catalog",
    "sync",
    "lag",
    "stale",
    "zero",
    "blank",
    "missing",
    "currency",
    "discount",
    "coupon",
    "rule",
    "rules",
    "tax",
    "invoice",
    "totals",
    "cents",
    "rounding",
    "import",
    "csv",
    "bulk",
    "export",
    "api",
    "error",
    "errors",
    "timeout",
    "latency",
    "slow",
    "500",
    "502",
    "503",
    "database",
    "deadlock",
    "queue",
    "worker",
    "workers",
    "cache",
    "redis",
    "eviction",
    "release",
    "rollback",
    "beta",
    "flag",
    "feature",
    "customer",
    "account",
    "key",
    "enterprise",
    "shopify",
    "magento",
    "webhook",
    "retry",
    "duplicate",
    "orders",
    "cart",
    "promotion",
    "bundle",
    "tier",
    "wholesale",
    "b2b",
    "eu",
    "us",
    "apac",
    "region",
    "replica",
    "failover",
    "memory",
    "cpu",
    "disk",
    "full",
    "certificate",
    "expired",
    "dns",
    "login",
    "sso",
    "oauth",
    "token",
]


# Word frequencies in real text follow Zipf's law: a few words are very common, most are rare.
# The corpus draws from 20,000 words ranked by frequency (weight 1/rank^1.07); the domain words
# above are spread over the first 2,000 ranks.
def _vocabulary() -> tuple[list[str], list[float]]:
    rng = random.Random(0)
    ranks = [f"w{n}" for n in range(20_000)]
    for word in WORDS:
        ranks[rng.randrange(2_000)] = word
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(ranks))]
    return ranks, list(itertools.accumulate(weights))


VOCAB, CUMULATIVE = _vocabulary()
SERVICES = ["pricing", "quotes", "checkout", "catalogue", "price-sync", "billing", "api-gateway"]
ACCOUNTS = [f"acct-{n}" for n in range(400)]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCAB, cum_weights=CUMULATIVE, k=n))


def fill(db: Database, count: int, rng: random.Random) -> float:
    start = time.perf_counter()
    now = datetime.now(UTC)
    batch = []
    with db.write() as session:
        for n in range(count):
            batch.append(
                {
                    "kind": "incident",
                    "ref": f"INC-{n + 1}",
                    "title": sentence(rng, 6),
                    "body": sentence(rng, 40),
                    "service": rng.choice(SERVICES),
                    "account": rng.choice(ACCOUNTS),
                    "group_key": f"am:alertname={rng.randrange(2000)}",
                    "created_at": now - timedelta(minutes=n),
                }
            )
            if len(batch) == 5000:
                session.execute(insert(SearchDoc), batch)
                batch = []
        if batch:
            session.execute(insert(SearchDoc), batch)
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE search_docs"))
        with db.write() as session:  # what the worker does every five minutes
            refreshed = time.perf_counter()
            search.refresh_terms(session)
            print(
                f"  (PostgreSQL term counts refreshed in {time.perf_counter() - refreshed:.1f} s)"
            )
    return time.perf_counter() - start


def measure(db: Database, searches: int, rng: random.Random) -> list[float]:
    times = []
    with db.read() as session:
        for _ in range(searches):
            incident = Incident(
                id=10**9,
                title=sentence(rng, 6),
                description=sentence(rng, 25),
                source="alarm",
                channel="alertmanager",
                status="open",
                stage="triage",
                reporter="bench",
                details={
                    "service": rng.choice(SERVICES),
                    "account": rng.choice(ACCOUNTS),
                    "group": f"am:alertname={rng.randrange(2000)}",
                },
            )
            start = time.perf_counter()
            found = related.find(session, incident)
            times.append((time.perf_counter() - start) * 1000)
            assert found, "a search should find something"
    return times


def report(name: str, docs: int, load_s: float, times: list[float]) -> None:
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(len(times) * q))]  # noqa: E731
    print(
        f"{name:<12}{docs:>10,}{load_s:>10.1f}s{statistics.median(times):>10.1f}{p(0.95):>10.1f}{p(0.99):>10.1f}"
        f"   {'ok' if p(0.95) < 50 else 'over the 50 ms goal'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL database (a scratch schema is used)"
    )
    args = parser.parse_args()
    print(f"related search, {args.searches} searches, top 10 with reasons (ms)")
    print(f"{'database':<12}{'documents':>10}{'load':>11}{'p50':>10}{'p95':>10}{'p99':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/search.db")
        migrate.upgrade(db)
        load_s = fill(db, args.docs, random.Random(1))
        report("SQLite FTS5", args.docs, load_s, measure(db, args.searches, random.Random(2)))
        db.dispose()
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalize_url(args.postgres))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = normalize_url(args.postgres).update_query_dict(
                {"options": f"-csearch_path={schema}"}
            )
            db = Database(url.render_as_string(hide_password=False))
            migrate.upgrade(db)
            load_s = fill(db, args.docs, random.Random(1))
            report("PostgreSQL", args.docs, load_s, measure(db, args.searches, random.Random(2)))
            db.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
