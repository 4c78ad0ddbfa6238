"""What every use case is handed: one open transaction, the process, the time and who acts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from escalator.config.process import Process

SYSTEM = "system"  # the actor for changes the engine makes by itself


@dataclass(frozen=True)
class Channels:
    """Which outside channels are configured; the console channel always is."""

    slack: bool = False
    pagerduty_default_key: bool = False  # ESCALATOR_PAGERDUTY_ROUTING_KEY is set
    email: bool = False
    jira: bool = False  # tickets in JIRA; otherwise the built-in tracker
    ticket_project: str = "MCT"
    discourse: bool = False  # customer updates can be posted to the Discourse forum
    email_domain: str = "escalator.invalid"  # the right-hand side of our Message-IDs
    unleash: bool = False  # flags are rolled back through Unleash's admin API
    rollback_webhook: bool = False  # releases are rolled back through the signed webhook


@dataclass(frozen=True)
class Links:
    """What links in messages need: where people reach the console, and the key that signs
    acknowledgement links and calendar feeds."""

    public_url: str = ""
    key: bytes = b""

    def url(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


@dataclass(frozen=True)
class Ctx:
    session: Session
    process: Process
    now: datetime
    actor: str
    channels: Channels = field(default_factory=Channels)
    links: Links = field(default_factory=Links)
    via: str = ""  # the face the person acted through when not the API or console ("slack")

    @property
    def is_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"
