"""Wiring: settings -> database, process, clock, senders, worker. Nothing runs at import."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cached_property

from sqlalchemy.orm import Session

from escalator.config.process import Process
from escalator.config.process_loader import load_process
from escalator.config.settings import Settings
from escalator.engine.clock import Clock, SystemClock
from escalator.engine.senders import ConsoleSender, Sender
from escalator.engine.worker import Worker
from escalator.integrations.outbound.discourse import DiscourseSender
from escalator.integrations.outbound.http_get import HttpGetSender
from escalator.integrations.outbound.jira import JiraSender
from escalator.integrations.outbound.pagerduty import PagerDutySender
from escalator.integrations.outbound.remote import Remote
from escalator.integrations.outbound.rollback_webhook import RollbackWebhookSender
from escalator.integrations.outbound.slack import SlackSender
from escalator.integrations.outbound.smtp import SmtpSender
from escalator.integrations.outbound.unleash import Unleash, UnleashSender
from escalator.process.alert.subscriptions import SNS_CONFIRM
from escalator.process.communicate.updates import CUSTOMER_EMAIL, DISCOURSE
from escalator.process.core.announce import PAGERDUTY, SLACK
from escalator.process.core.context import Channels, Ctx, Links
from escalator.process.core.notify import CONSOLE, EMAIL
from escalator.process.core.signing import stored_key
from escalator.process.escalate.pages import PERSON_PREFIX
from escalator.process.remediate.rollback import UNLEASH, WEBHOOK
from escalator.process.triage.tickets import JIRA
from escalator.store.db import Database


@dataclass
class Services:
    settings: Settings
    process: Process
    db: Database
    clock: Clock
    senders: dict[str, Sender] = field(default_factory=dict)
    channels: Channels = field(default_factory=Channels)
    # what REMEDIATE asks Unleash and JIRA before it stores a decision
    remote: Remote = field(default_factory=Remote)

    @cached_property
    def links(self) -> Links:
        """Read on first use, after the database is migrated."""
        secret = self.settings.secret_key
        key = (
            secret.get_secret_value().encode() if secret else stored_key(self.db, self.clock.now())
        )
        return Links(public_url=self.settings.public_url, key=key)

    def _ctx(self, session: Session, actor: str, links: Links, via: str = "") -> Ctx:
        return Ctx(
            session=session,
            process=self.process,
            now=self.clock.now(),
            actor=actor,
            channels=self.channels,
            links=links,
            via=via,
        )

    @contextmanager
    def unit_of_work(self, actor: str, *, via: str = "") -> Iterator[Ctx]:
        """One transaction in which ``actor`` changes things; commits when the block ends.
        ``via``: the face acted through, when not the API or console (``"slack"``)."""
        links = self.links  # made (and maybe stored) before this transaction opens
        with self.db.write() as session:
            yield self._ctx(session, actor, links, via)
            self.db.made_work(session)
        self.db.woke()

    @contextmanager
    def looking(self, actor: str) -> Iterator[Ctx]:
        """A read-only transaction (no write lock on SQLite) for questions, not changes."""
        links = self.links
        with self.db.read() as session:
            yield self._ctx(session, actor, links)

    def worker(self, worker_id: str | None = None) -> Worker:
        return Worker(
            self.db,
            process=self.process,
            clock=self.clock,
            senders=self.senders,
            worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
            batch=self.settings.worker_batch,
            max_attempts=self.settings.outbox_max_attempts,
            concurrency=self.settings.outbox_concurrency,
            rate_limits=self.settings.rate_limits,
            channels=self.channels,
            links=self.links,
        )


def senders_for(settings: Settings, process: Process) -> tuple[dict[str, Sender], Channels]:
    """The console always; Slack, PagerDuty and email when their settings are present."""
    senders: dict[str, Sender] = {CONSOLE: ConsoleSender(), SNS_CONFIRM: HttpGetSender()}
    if settings.slack_bot_token:
        senders[SLACK] = SlackSender(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
    default_key = settings.pagerduty_routing_key
    service_keys = {
        name: s.pagerduty_routing_key
        for name, s in process.spec.services.items()
        if s.pagerduty_routing_key
    }

    person_keys = {
        f"{PERSON_PREFIX}{pid}": p.pagerduty_routing_key
        for pid, p in process.spec.people.items()
        if p.pagerduty_routing_key
    }

    def routing_key_for(service: str) -> str | None:
        if service in person_keys:
            return person_keys[service]
        if service in service_keys:
            return service_keys[service]
        return default_key.get_secret_value() if default_key else None

    if default_key or service_keys or person_keys:
        senders[PAGERDUTY] = PagerDutySender(
            url=settings.pagerduty_events_url, routing_key_for=routing_key_for
        )
    if settings.smtp_url:
        senders[EMAIL] = SmtpSender(
            settings.smtp_url.get_secret_value(), sender=settings.email_from
        )
        # customer updates: from the support address, written by a person, answerable
        senders[CUSTOMER_EMAIL] = SmtpSender(
            settings.smtp_url.get_secret_value(),
            sender=settings.support_email or settings.email_from,
            reply_to=settings.support_reply_to,
            automatic=False,
        )
    if settings.discourse_url and settings.discourse_api_key and settings.discourse_api_username:
        senders[DISCOURSE] = DiscourseSender(
            url=settings.discourse_url,
            api_key=settings.discourse_api_key.get_secret_value(),
            api_username=settings.discourse_api_username,
        )
    if settings.jira_url and settings.jira_user and settings.jira_token:
        senders[JIRA] = JiraSender(
            url=settings.jira_url,
            user=settings.jira_user,
            token=settings.jira_token.get_secret_value(),
            issue_type=settings.jira_issue_type,
        )
    if settings.unleash_url and settings.unleash_token:
        senders[UNLEASH] = UnleashSender(
            Unleash(url=settings.unleash_url, token=settings.unleash_token.get_secret_value())
        )
    if settings.rollback_webhook_secret and process.spec.rollback.webhook:
        senders[WEBHOOK] = RollbackWebhookSender(
            secret=settings.rollback_webhook_secret.get_secret_value()
        )
    channels = Channels(
        slack=SLACK in senders,
        pagerduty_default_key=default_key is not None,
        email=EMAIL in senders,
        jira=JIRA in senders,
        ticket_project=settings.jira_project,
        discourse=DISCOURSE in senders,
        email_domain=_domain(settings.support_email or settings.email_from),
        unleash=UNLEASH in senders,
        rollback_webhook=WEBHOOK in senders,
    )
    return senders, channels


def _domain(address: str) -> str:
    """The right-hand side of our Message-IDs: the support address's domain."""
    domain = parseaddr(address)[1].rpartition("@")[2].strip().lower()
    return domain if "." in domain else "escalator.invalid"


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Services:
    """Everything the faces need; raises ProcessFileError on a bad process file."""
    settings = settings or Settings()
    process = load_process(settings.process_file)
    senders, channels = senders_for(settings, process)
    unleash = senders.get(UNLEASH)
    jira = senders.get(JIRA)
    remote = Remote(
        unleash=unleash.unleash if isinstance(unleash, UnleashSender) else None,
        jira=jira if isinstance(jira, JiraSender) else None,
    )
    return Services(
        settings=settings,
        process=process,
        db=Database(settings.database_url),
        clock=clock or SystemClock(),
        senders=senders,
        channels=channels,
        remote=remote,
    )
