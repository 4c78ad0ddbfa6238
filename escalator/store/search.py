"""Full-text search over past incidents, tickets and known bugs: SQLite FTS5 or PostgreSQL
``tsvector``, whichever the database is."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from escalator.store.models import SearchDoc
from escalator.store.upsert import dialect_insert

_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "with",
        "from",
        "at",
        "by",
        "as",
        "not",
        "no",
        "but",
        "our",
        "we",
        "you",
        "they",
        "your",
        "has",
        "have",
        "had",
        "can",
        "will",
        "all",
        "any",
        "some",
        "into",
        "out",
        "over",
        "than",
        "then",
        "there",
        "their",
        "when",
        "what",
        "which",
        "who",
        "how",
        "why",
    ]
)


@dataclass(frozen=True)
class Hit:
    kind: str
    ref: str
    title: str
    body: str
    service: str
    account: str
    group_key: str
    created_at: datetime
    rank: int  # 0 best, by text relevance; -1 when found by a shared field only


def terms(words: str, limit: int = 24) -> list[str]:
    """The searchable words of ``words``: lower case, no stop words, first ``limit`` kept."""
    seen: dict[str, None] = {}
    for word in re.findall(r"[a-z0-9]{3,}", words.lower()):
        if word not in _STOP:
            seen.setdefault(word, None)
    return list(seen)[:limit]


def index(
    session: Session,
    *,
    kind: str,
    ref: str,
    title: str,
    body: str,
    service: str = "",
    account: str = "",
    group_key: str = "",
    created_at: datetime,
) -> None:
    stmt = dialect_insert(session, SearchDoc.__table__).values(
        kind=kind,
        ref=ref,
        title=title[:500],
        body=body[:20000],
        service=service[:200],
        account=account[:200],
        group_key=group_key[:300],
        created_at=created_at,
    )
    new = stmt.excluded
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "ref"],
            set_={
                "title": new.title,
                "body": new.body,
                "service": new.service,
                "account": new.account,
                "group_key": new.group_key,
            },
        )
    )


def _row(row: object, rank: int) -> Hit:
    r = row._mapping  # type: ignore[attr-defined]
    return Hit(
        r["kind"],
        r["ref"],
        r["title"],
        r["body"],
        r["service"],
        r["account"],
        r["group_key"],
        r["created_at"],
        rank,
    )


def refresh_terms(session: Session) -> int:
    """PostgreSQL: recount the documents of every lexeme (``ts_stat``); returns how many
    lexemes. A no-op on SQLite, whose FTS5 vocabulary is always current."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    session.execute(text("DELETE FROM search_terms"))
    session.execute(
        text(
            "INSERT INTO search_terms (term, docs) "
            "SELECT word, ndoc FROM ts_stat('SELECT tsv FROM search_docs') "
            "UNION ALL SELECT '', count(*) FROM search_docs"
        )
    )
    return session.execute(text("SELECT count(*) - 1 FROM search_terms")).scalar() or 0


def _counts(session: Session, words: list[str]) -> tuple[dict[str, int], int]:
    """Document counts of ``words`` (on PostgreSQL, their lexemes) and of all documents."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT term, docs FROM search_terms WHERE term = ANY(:w) OR term = ''"),
            {"w": words},
        ).all()
        counts = dict(rows)
        total = counts.pop("", None)
        if total is None:  # never refreshed yet
            total = session.execute(text("SELECT count(*) FROM search_docs")).scalar() or 0
        return counts, total
    counts = dict(
        session.execute(
            text(
                "SELECT term, doc FROM search_vocab WHERE term IN (SELECT value FROM json_each(:w))"
            ),
            {"w": json.dumps(words)},
        ).all()
    )
    return counts, session.execute(text("SELECT count(*) FROM search_docs")).scalar() or 0


def lexemes(session: Session, words: list[str]) -> list[str]:
    """On PostgreSQL, ``words`` as the index stores them (stemmed, in order); else as they are."""
    if not words or session.get_bind().dialect.name != "postgresql":
        return words
    found = session.execute(
        text(
            "SELECT w, (SELECT lexeme FROM unnest(to_tsvector('english', w)) LIMIT 1) "
            "FROM unnest(CAST(:w AS text[])) AS w"
        ),
        {"w": words},
    ).all()
    return list(dict.fromkeys(lexeme for _, lexeme in found if lexeme))


def informative(session: Session, words: list[str], *, keep: int = 6) -> list[str]:
    """The ``keep`` rarest of ``words`` by document count, leaving out words found in more
    than one document in fifty (they rank nothing and make the search slow). Words the index
    does not know as such (stemmed differently, or new since PostgreSQL's counts were last
    refreshed) are used only when fewer than two known words are informative."""
    if not words:
        return []
    counts, total = _counts(session, words)
    bar = max((total or 1) / 50, 20)  # in a small index every word still counts
    known = [w for _, w in sorted((c, w) for w, c in counts.items() if c <= bar)]
    unknown = [w for w in words if w not in counts]
    chosen = known if len(known) >= 2 else known + unknown
    if not chosen:  # every word is common: the rarest one still ranks something
        chosen = [min(counts, key=counts.__getitem__)]
    return chosen[:keep]


def by_text(session: Session, words: list[str], *, limit: int) -> list[Hit]:
    words = informative(session, lexemes(session, words))
    if not words:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # the lexemes are stemmed already: 'simple' takes them as they are
        sql = text(
            "SELECT kind, ref, title, body, service, account, group_key, created_at "
            "FROM search_docs, to_tsquery('simple', :q) AS q WHERE tsv @@ q "
            "ORDER BY ts_rank(tsv, q) DESC, id DESC LIMIT :n"
        )
        query = " | ".join(f"'{w}'" for w in words)
    else:
        sql = text(
            "SELECT d.kind, d.ref, d.title, d.body, d.service, d.account, d.group_key, "
            "d.created_at "
            "FROM search_fts JOIN search_docs AS d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :q ORDER BY bm25(search_fts, 2.0, 1.0), d.id DESC LIMIT :n"
        )
        query = " OR ".join(f'"{w}"' for w in words)
    rows = session.execute(sql, {"q": query, "n": limit}).all()
    return [_row(row, position) for position, row in enumerate(rows)]


def by_fields(
    session: Session, *, service: str, account: str, group_key: str, limit: int
) -> list[Hit]:
    """The newest documents sharing the service, the account or the alert group (each of the
    three reads its own index, newest first)."""
    hits: list[Hit] = []
    for column, value in (
        (SearchDoc.group_key, group_key),
        (SearchDoc.account, account),
        (SearchDoc.service, service),
    ):
        if not value:
            continue
        query = (
            select(
                SearchDoc.kind,
                SearchDoc.ref,
                SearchDoc.title,
                SearchDoc.body,
                SearchDoc.service,
                SearchDoc.account,
                SearchDoc.group_key,
                SearchDoc.created_at,
            )
            .where(column == value)
            .order_by(SearchDoc.created_at.desc())
            .limit(limit)
        )
        hits.extend(_row(row, -1) for row in session.execute(query).all())
    return hits
