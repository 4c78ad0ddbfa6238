"""SNS subscriptions: confirmed by visiting the SubscribeURL, through the outbox so that a
failure is retried and shown rather than lost inside a webhook request."""

from __future__ import annotations

from escalator.process.core.context import Ctx
from escalator.process.core.records import enqueue

SNS_CONFIRM = "sns_confirm"


def confirm_sns(ctx: Ctx, *, subscribe_url: str, topic_arn: str, message_id: str) -> None:
    enqueue(
        ctx,
        incident=None,
        channel=SNS_CONFIRM,
        destination=topic_arn[-200:],
        subject=f"confirm SNS subscription to {topic_arn}"[:500],
        idempotency_key=f"{SNS_CONFIRM}:{message_id}"[:200],
        payload={"topic_arn": topic_arn, "url": subscribe_url},
    )
