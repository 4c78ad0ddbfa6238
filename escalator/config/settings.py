"""Runtime settings, read from ``ESCALATOR_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATOR_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/escalator.db",
        description="SQLAlchemy URL; postgresql+psycopg://… to run several processes.",
    )
    process_file: Path | None = Field(
        default=None, description="Process file; the packaged default encodes the seed process."
    )
    host: str = "127.0.0.1"
    port: int = 8080
    access_log: bool = Field(
        default=False, description="Log every HTTP request (intake can take thousands a second)."
    )
    server_processes: int = Field(
        default=1, ge=1, description="`escalator serve` processes sharing the port."
    )
    auto_migrate: bool = Field(
        default=True, description="Upgrade the database to the newest schema when serving."
    )
    run_worker: bool = Field(
        default=True, description="Run the timer/outbox worker inside `escalator serve`."
    )
    worker_poll_seconds: float = 0.5
    worker_stale_seconds: float = Field(
        default=60,
        gt=0,
        description="/readyz fails when no worker has got through a round of work for this long.",
    )
    worker_give_up_seconds: float = Field(
        default=300,
        gt=0,
        description="`escalator worker` exits non-zero after this long without a successful "
        "round, for its supervisor to restart it.",
    )
    worker_batch: int = 200
    outbox_max_attempts: int = 12
    outbox_concurrency: int = Field(
        default=8, ge=1, le=64, description="Messages a worker sends at once (one per queue)."
    )
    rate_limits: bool = Field(
        default=True,
        description="Pace messages to each Slack channel and PagerDuty key below the peers' "
        "published limits; turn off only for peers without limits (benchmarks).",
    )
    public_url: str = Field(
        default="", description="Base URL people reach the console at, for links in messages."
    )
    cookie_secure: bool = False
    console_session_idle_hours: float = Field(
        default=12, gt=0, description="A console session unused for this long is signed out."
    )
    console_session_max_days: float = Field(
        default=30, gt=0, description="A console session ends this long after sign-in, used or not."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs acknowledgement links and calendar feeds; without it a random key "
        "is made once and kept in the database.",
    )

    # outgoing channels; each is off until configured
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="Verifies Slack's requests (buttons, modals, /escalator) to /api/v1/slack/…",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="An app-level token (xapp-…) for Socket Mode: `escalator slack socket`.",
    )
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="Used for services without their own key in the process file."
    )
    smtp_url: SecretStr | None = Field(
        default=None, description="smtp://user:pass@host:587?starttls=1"
    )
    email_from: str = "escalator@localhost"
    # customer updates: the From (default: email_from) and Reply-To of email to customers
    support_email: str | None = Field(
        default=None, description="From address of customer updates; replies should reach it."
    )
    support_reply_to: str | None = Field(
        default=None, description="Reply-To of customer updates, when replies go elsewhere."
    )
    # posting customer updates to the support forum (Discourse)
    discourse_url: str | None = None
    discourse_api_key: SecretStr | None = None
    discourse_api_username: str | None = Field(
        default=None,
        description="The Discourse user Escalator posts as (its own posts are "
        "not taken for customer posts).",
    )

    # tickets: the built-in MCT tracker unless JIRA is configured
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: SecretStr | None = None
    jira_project: str = "MCT"
    jira_issue_type: str = "Task"

    # intake
    intake_max_bytes: int = 1024 * 1024
    attachment_max_bytes: int = 10 * 1024 * 1024
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int | None = Field(
        default=None, description="Listen for customer email (SMTP) on this port."
    )
    sns_cert_url_pattern: str = r"^https://sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?/"
    # REMEDIATE: rolling back a feature flag through Unleash's admin API (a PAT or admin
    # token); signing the rollback webhook's body
    unleash_url: str | None = None
    unleash_token: SecretStr | None = None
    rollback_webhook_secret: SecretStr | None = None
    grafana_webhook_secret: SecretStr | None = None
    discourse_webhook_secret: SecretStr | None = None
