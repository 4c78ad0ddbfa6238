"""SQLAlchemy models. Every schema change comes with an Alembic migration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from escalator.store.types import UTCDateTime

KEY_PREFIX = "INC"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # the console's queues (process.core.queues) ask only of live incidents, by owner,
        # role, stage and clocks: every column they test is here, so a queue is counted and
        # paged from this index alone, never by reading each live incident's row (a year
        # leaves thousands live); it also serves what the old (status, stage) index did
        Index(
            "ix_incidents_queues",
            "status",
            "owner_role",
            "stage",
            "owner_person",
            "severity",
            "triage_due_at",
            "resolution_due_at",
        ),
        # a status's incidents newest first (the list's status filter, "Post-mortem due"):
        # the first page reads 50 entries instead of sorting every incident of the status
        Index("ix_incidents_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))  # alarm | customer
    channel: Mapped[str] = mapped_column(String(32))  # phone, email, forum, manual, alertmanager…
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    owner_role: Mapped[str | None] = mapped_column(String(64))
    owner_person: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str | None] = mapped_column(String(8), index=True)
    reporter: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    triage_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    # the escalation path frozen when the incident started escalating (process file edits
    # change later incidents only)
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"


class TimelineEvent(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    @property
    def ref(self) -> str:
        """A unique reference for the idempotency keys of what the event causes, usable before
        the row is flushed and has its id (a worker's batch writes its events together)."""
        ref: str | None = self.__dict__.get("_ref")
        if ref is None:
            ref = f"e{self.id}" if self.id is not None else uuid.uuid4().hex
            self.__dict__["_ref"] = ref
        return ref

    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(48))
    field: Mapped[str | None] = mapped_column(String(48))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_state_due_at", "state", "due_at"),)
    __mapper_args__ = {"eager_defaults": False}  # see OutboxMessage

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(
        String(12), default="pending"
    )  # pending|fired|cancelled|failed
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    fired_by: Mapped[str | None] = mapped_column(String(64))
    late_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # a handler that raised is tried again at retry_at (with backoff), then set aside as failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    retry_at: Mapped[datetime | None]
    # timers that several processes might each schedule (a rotation's next hand-off) carry a
    # key, so that only one of them is stored
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    # the columns with a server default have a Python one too: nothing to read back after an
    # INSERT, so rows whose ids were taken beforehand are written in one statement a table
    __mapper_args__ = {"eager_defaults": False}
    __table_args__ = (
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        # finds a message's elders in its queue (same incident, channel and destination)
        # the claim walks pending rows in (rank, id) order and stops at the batch
        Index(
            "ix_outbox_claim",
            "rank",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index(
            "ix_outbox_queue",
            "incident_id",
            "channel",
            "destination",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # the unsent message a new one may be folded into (chatter is coalesced)
        Index(
            "ix_outbox_coalesce",
            "coalesce_key",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(24))
    destination: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|dead
    # lower goes first: a page (0) before the thread updates and console notes around it (1)
    rank: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]] = mapped_column(
        default=dict
    )  # what the peer answered (Slack ts…)
    # messages of one key that are still waiting merge into one (the latest root message
    # update; "+37 alerts" instead of 37 thread replies)
    coalesce_key: Mapped[str | None] = mapped_column(String(200))


class ApiToken(Base):
    """API tokens: only a SHA-256 of the token is kept; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser: the console's cookie carries its secret (kept as a SHA-256), never
    the API token it was opened with. It ends when revoked, when idle too long, or at its cap."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]  # written at most once a minute
    revoked_at: Mapped[datetime | None]


class Integration(Base):
    """A source allowed to post to an intake endpoint; its secret is kept as a SHA-256."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]


class Alert(Base):
    """One alert as its source sees it, upserted on every post; the engine turns changes
    (``pending``) into incidents and timeline events."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint"),
        # the worker's queue: the few alerts with a change to judge, not a year of them
        Index(
            "ix_alerts_pending",
            "id",
            postgresql_where=text("pending"),
            sqlite_where=text("pending = 1"),
        ),
        # the few alert changes set aside, found without reading a year of alerts
        Index(
            "ix_alerts_set_aside",
            "id",
            postgresql_where=text("error IS NOT NULL"),
            sqlite_where=text("error IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(24))
    fingerprint: Mapped[str] = mapped_column(String(128))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id"))
    status: Mapped[str] = mapped_column(String(20))  # firing | resolved | insufficient_data
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[str] = mapped_column(String(32), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    group_key: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    fire_count: Mapped[int] = mapped_column(Integer, default=1)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    seen_status: Mapped[str | None] = mapped_column(String(20))  # what the engine last acted on
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # judging a change that raised is tried again at retry_at, then set aside with its error
    # (no Python-side default: the intake's compiled upsert must not grow a parameter)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    retry_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class AlertGroup(Base):
    """The open incident of an alert group; deleted when that incident resolves."""

    __tablename__ = "alert_groups"

    group_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    opened_at: Mapped[datetime]


class IncidentRef(Base):
    """An outside identifier that belongs to an incident: an email Message-ID, a forum topic."""

    __tablename__ = "incident_refs"
    __table_args__ = (UniqueConstraint("kind", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(500))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)


class Attachment(Base):
    """Evidence kept with an incident: an email's attachments, uploaded logs."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Report(Base):
    """The incident report of triage: the five Ws, one row per incident (edits go on the
    timeline with before and after)."""

    __tablename__ = "reports"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    who: Mapped[str] = mapped_column(Text, default="")
    what: Mapped[str] = mapped_column(Text, default="")
    where: Mapped[str] = mapped_column(Text, default="")
    when: Mapped[str] = mapped_column(Text, default="")
    how: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class Assessment(Base):
    """A severity assessment; every one is kept, the newest counts."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str] = mapped_column(String(8))
    summary: Mapped[str] = mapped_column(Text)


class Ticket(Base):
    """The incident's ticket in the MCT project: built in, or in JIRA (``key`` arrives with
    the delivery receipt of its create message)."""

    __tablename__ = "tickets"
    # keys are unique per tracker: the built-in MCT-1 and JIRA's MCT-1 are two tickets
    __table_args__ = (UniqueConstraint("tracker", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    tracker: Mapped[str] = mapped_column(String(16))  # builtin | jira
    project: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TicketComment(Base):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class KnownBug(Base):
    __tablename__ = "known_bugs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="open")
    source: Mapped[str] = mapped_column(String(16), default="builtin")  # builtin | jira
    created_at: Mapped[datetime]


class IncidentLink(Base):
    """Something an incident points at: a related incident, ticket or known bug, or a piece
    of evidence on the web (a log, a PagerDuty incident, a CloudWatch alarm, a graph)."""

    __tablename__ = "incident_links"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    ref: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]


class PlaybookRun(Base):
    """A playbook entry attached to an incident, its ticked steps and its outcome."""

    __tablename__ = "playbook_runs"
    __table_args__ = (UniqueConstraint("incident_id", "entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    entry_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ticks: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{step, by, at}]
    because: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(16))  # resolved | failed | not_applicable
    outcome_by: Mapped[str | None] = mapped_column(String(200))
    outcome_at: Mapped[datetime | None]


class SearchDoc(Base):
    """What related search looks through: past incidents, tickets and known bugs. On SQLite
    an FTS5 table mirrors it; on PostgreSQL a generated tsvector column with a GIN index."""

    __tablename__ = "search_docs"
    __table_args__ = (
        UniqueConstraint("kind", "ref"),
        # "the newest with the same service / account / alert", without sorting
        Index("ix_search_docs_service_created_at", "service", "created_at"),
        Index("ix_search_docs_account_created_at", "account", "created_at"),
        Index("ix_search_docs_group_key_created_at", "group_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # incident | ticket | bug
    ref: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(200), default="")
    group_key: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]


class SearchTerm(Base):
    """PostgreSQL: how many search documents hold each lexeme, from ``ts_stat``, refreshed by
    the worker every few minutes (term '' holds the number of documents). Related search
    keeps the rarest words of a query by it. SQLite's FTS5 vocabulary table does this live."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    docs: Mapped[int] = mapped_column(Integer)


class RotationEdit(Base):
    """The Engineering Manager's version of a rotation (members, shift, hand-off, timezone),
    replacing the process file's until it is taken back."""

    __tablename__ = "rotation_edits"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class RotationOverride(Base):
    """Someone covers a rotation from ``start`` to ``end``, whoever's turn it is."""

    __tablename__ = "rotation_overrides"
    __table_args__ = (Index("ix_rotation_overrides_rotation_end", "rotation", "end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rotation: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime]
    end: Mapped[datetime]
    person: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class RotationSwap(Base):
    """The holders of the shift around ``first`` and the shift around ``second`` trade."""

    __tablename__ = "rotation_swaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rotation: Mapped[str] = mapped_column(String(64), index=True)
    first: Mapped[datetime]
    second: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Page(Base):
    """One step of an escalation: a person paged (or a step skipped) and what came of it."""

    __tablename__ = "pages"
    # the pages ringing a person (their "Mine" queue, counted on every console page) and
    # their own pages, without reading a year of everyone's pages
    __table_args__ = (Index("ix_pages_person_state", "person", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    chain: Mapped[str] = mapped_column(String(16))  # on_call | bring_in
    step: Mapped[int] = mapped_column(Integer)  # index into the policy's chain
    target: Mapped[str] = mapped_column(String(64))  # the step as written: role[.backup]
    person: Mapped[str | None] = mapped_column(String(64))
    # paging | acknowledged | timed_out | skipped | cancelled
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    paged_at: Mapped[datetime]
    ack_due_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(200))
    late_ms: Mapped[int | None] = mapped_column(Integer)  # the timer that paged was this late


class SigningKey(Base):
    """The key that signs acknowledgement links and calendar feeds, when the settings give
    none: made once, shared by every process on the database."""

    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class WorkerHeartbeat(Base):
    """One row per worker process: when it last beat and last got through a round of work.
    ``/readyz`` fails and ``/metrics`` shows it when no worker has made progress lately."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]
    progress_at: Mapped[datetime | None]  # the end of the last round that raised nothing
    failures: Mapped[int] = mapped_column(Integer, default=0)  # rounds in a row that raised
    last_error: Mapped[str | None] = mapped_column(Text)
    stopped_at: Mapped[datetime | None]


class Contact(Base):
    """Someone an incident affects, kept updated by second tier on their own channel: the
    customer who wrote, posted or phoned, an account's contacts, or anyone added by hand.
    Their update clock: owed since ``owed_since`` (None while it does not run), last told at
    ``last_told_at``, promised the next by ``promised_at``, due at ``due_at``."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("incident_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(16))  # email | forum | phone
    # an email address, a forum "<source>:<topic>", a phone number (or the caller's name)
    address: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16))  # customer | account | manual
    thread: Mapped[dict[str, Any]] = mapped_column(default=dict)  # email: subject, parent, refs
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]
    owed_since: Mapped[datetime | None]
    last_told_at: Mapped[datetime | None]
    promised_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)


class CustomerUpdate(Base):
    """The ledger: what each contact was told (``out``) and wrote back (``in``). An update is
    ``pending`` until its delivery receipt marks it ``sent``; its outbox message, if dead,
    shows it failed. A call made is logged ``sent``."""

    __tablename__ = "customer_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    kind: Mapped[str] = mapped_column(String(16))  # update | resolution | reply | report
    by: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12))  # pending | sent | received
    sent_at: Mapped[datetime | None]
    next_update_at: Mapped[datetime | None]  # what the update promised
    owed_by: Mapped[datetime | None]  # when the contact was owed it, as it was written
    severity: Mapped[str | None] = mapped_column(String(8))
    since_last_seconds: Mapped[int | None] = mapped_column(Integer)  # since they were told
    message_id: Mapped[str | None] = mapped_column(String(300))  # an email's Message-ID
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    external_ref: Mapped[str | None] = mapped_column(String(300))  # a forum post's id
    event_id: Mapped[int | None] = mapped_column(Integer)  # the timeline event it came from
    read_at: Mapped[datetime | None]  # a reply second tier has read
    read_by: Mapped[str | None] = mapped_column(String(200))


# -- POST MORTEM -------------------------------------------------------------------------

# the weekly report reads a week's incidents and pages, and the review those resolved since
Index("ix_incidents_created_at", Incident.created_at)
Index("ix_incidents_resolved_at", Incident.resolved_at)
Index("ix_pages_paged_at", Page.paged_at)


class Postmortem(Base):
    """The post-mortem of a resolved incident: started when it resolves, written by whoever
    owned it (or the Support Manager), reviewed in the weekly review, or waived by a manager
    with a reason. Its timeline is the incident's, read from ``timeline_events``."""

    __tablename__ = "postmortems"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(12), index=True)  # draft | reviewed | waived
    owner: Mapped[str | None] = mapped_column(String(64))
    root_cause: Mapped[str | None] = mapped_column(String(48))
    factors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # contributing factors
    # the change that triggered it, as REMEDIATE's change event read when it was picked
    trigger_change: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detected_by: Mapped[str | None] = mapped_column(String(16))  # alarm | customer
    customer_first: Mapped[bool] = mapped_column(Boolean, default=False)
    service: Mapped[str] = mapped_column(String(200), default="")
    went_well: Mapped[str] = mapped_column(Text, default="")
    went_badly: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    waived_at: Mapped[datetime | None]
    waived_by: Mapped[str | None] = mapped_column(String(200))
    waiver: Mapped[str] = mapped_column(Text, default="")


class ActionItem(Base):
    """Something a post-mortem decided to change, owned and due, chased until done."""

    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    # new_metric | alarm_threshold | playbook_entry | docs_update | other
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | done | wont_do
    reason: Mapped[str] = mapped_column(Text, default="")  # why it won't be done
    jira: Mapped[str | None] = mapped_column(String(64))
    # the weekly report's finding it was made from ("noise:PriceSyncLag"), made once
    finding: Mapped[str | None] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))


class PlaybookDraft(Base):
    """A playbook entry a ``playbook_entry`` action item opened, prefilled from its incident;
    publishing writes it into the playbooks directory."""

    __tablename__ = "playbook_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id"), unique=True)
    entry_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    match: Mapped[dict[str, Any]] = mapped_column(default=dict)  # alerts, services, sources…
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(1000), default="")


class Review(Base):
    """One weekly review, opened by its timer with its agenda: the incidents resolved since
    the last review and the action items open or overdue then."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_at: Mapped[datetime] = mapped_column(unique=True)  # its slot: opened once
    opened_at: Mapped[datetime]
    since: Mapped[datetime]
    agenda: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MetricCount(Base):
    """What ``/metrics`` reports of the process, counted when it happens (no table scans at
    scrape time): a histogram's buckets (``label`` is the bucket's upper bound, ``count``
    the observations in it; the row with ``label`` "" holds the total count and sum) and
    counters (clock breaches by clock)."""

    __tablename__ = "metric_counts"

    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)


# -- REMEDIATE ---------------------------------------------------------------------------


class Change(Base):
    """Something that changed (a deployment, a flag turned on or off, a config edit), from a
    CI/CD tool's PagerDuty change event, Unleash's webhook, by hand, or a rollback Escalator
    made. Read as "changed before this opened"."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_service_at", "service", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)  # when it changed (the sender's time)
    received_at: Mapped[datetime]
    service: Mapped[str | None] = mapped_column(String(200))  # None: applies to any service
    summary: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str] = mapped_column(String(48))  # pagerduty | unleash | manual | escalator
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # flag, project, environment…
    created_by: Mapped[str] = mapped_column(String(200))


class CouncilCase(Base):
    """An incident brought to the Engineering Council: waiting for a decision (its clock due
    at ``due_at``), decided, or closed. Back to waiting when a rollback did not work."""

    __tablename__ = "council_cases"
    __table_args__ = (Index("ix_council_cases_state_due_at", "state", "due_at"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(12))  # waiting | decided | closed
    brought_by: Mapped[str] = mapped_column(String(200))
    brought_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    round: Mapped[int] = mapped_column(Integer, default=1)  # each return to the queue
    updated_at: Mapped[datetime]


class CouncilDecision(Base):
    """One decision of the council: never edited, only superseded by a later one. ``state``:
    awaiting_approval → acting (sent to Unleash / the webhook) or manual (to do by hand) →
    done | failed; or open (gather_info, allocations) → answered; or superseded."""

    __tablename__ = "council_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(index=True)
    reasons: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    approvals_needed: Mapped[int] = mapped_column(Integer, default=0)
    approvals: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{by, at}]
    due_at: Mapped[datetime | None]
    supersedes_id: Mapped[int | None] = mapped_column(Integer)
    superseded_by_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the answer, what was done
    updated_at: Mapped[datetime]
