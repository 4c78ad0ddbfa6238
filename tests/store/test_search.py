"""Related search weighs the words of a query by how rare they are, on SQLite (FTS5's live
vocabulary) and PostgreSQL (counts the worker refreshes from ts_stat)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from escalator.app import Services
from escalator.process.triage import related
from escalator.store import search
from escalator.store.models import SearchTerm, Timer
from tests.fakes import FakeClock


def seed(svc: Services, clock: FakeClock) -> None:
    with svc.db.write() as s:
        for n in range(120):  # "checkout" and "errors" are everywhere
            search.index(
                s,
                kind="incident",
                ref=f"INC-{n + 100}",
                title=f"checkout errors on node {n}",
                body="customers see errors at checkout",
                created_at=clock.now(),
            )
        search.index(
            s,
            kind="bug",
            ref="BUG-7",
            title="Rounding in the currency converter",
            body="currencies with three decimals round wrong",
            created_at=clock.now(),
        )


def test_the_rarest_words_of_a_query_are_the_ones_searched(svc: Services, clock: FakeClock) -> None:
    seed(svc, clock)
    with svc.db.write() as s:
        search.refresh_terms(s)  # the worker does this every five minutes on PostgreSQL
    with svc.db.read() as s:
        words = search.lexemes(s, search.terms("checkout errors converter rounding"))
        chosen = search.informative(s, words)
        hits = search.by_text(s, search.terms("checkout errors converter rounding"), limit=3)
    assert not any(w.startswith("checkout") for w in chosen), "a word in every document goes"
    if svc.db.is_postgres:  # stemmed as the index stores them; SQLite keeps the words as typed
        assert chosen == ["convert", "round"]
    assert hits[0].ref == "BUG-7", "the rare words find the one that matters"


def test_the_worker_keeps_the_counts_fresh_on_postgresql(svc: Services, clock: FakeClock) -> None:
    seed(svc, clock)
    worker = svc.worker()
    worker.round()
    with svc.db.read() as s:
        refresh = s.scalars(
            select(Timer).where(Timer.kind == related.REFRESH_TERMS).order_by(Timer.due_at)
        ).all()
        counted = {t.term: t.docs for t in s.scalars(select(SearchTerm))}
    if not svc.db.is_postgres:  # FTS5 counts as it goes: nothing to refresh
        assert refresh == [] and counted == {}
        return
    assert [t.state for t in refresh] == ["fired", "pending"]
    assert counted[""] == 121 and counted["checkout"] == 120 and counted["convert"] == 1
    clock.advance(timedelta(minutes=5))
    worker.round()
    with svc.db.read() as s:
        query = select(Timer).where(Timer.kind == related.REFRESH_TERMS).order_by(Timer.due_at)
        states = [t.state for t in s.scalars(query)]
    assert states == ["fired", "fired", "pending"], "once every five minutes"
