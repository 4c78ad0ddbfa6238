"""What an inbound parser accepts, the database keeps: every payload that parses is stored and
turned into incidents on SQLite and PostgreSQL (which refuses NUL and checks every column's
length), so an accepted alarm, post or email can never fail later in the worker."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalator.app import Services
from escalator.integrations.inbound import alertmanager, cloudwatch, forum, generic
from escalator.integrations.inbound.common import PayloadError
from escalator.integrations.inbound.email import parse_email
from escalator.process.alert import alarms, customer
from escalator.process.core.context import SYSTEM
from tests import payloads
from tests.engine.test_alert_folding import store

STORE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def keep_alerts(svc: Services, alerts: list) -> None:
    store(svc, alerts)
    with svc.unit_of_work(SYSTEM) as ctx:
        alarms.process_pending(ctx)


@STORE
@given(
    body=st.one_of(payloads.alertmanager, payloads.generic),
    kind=st.sampled_from(["alertmanager", "grafana", "generic"]),
)
def test_alerts_that_parse_are_stored(svc: Services, body: object, kind: str) -> None:
    parse = generic.parse if kind == "generic" else alertmanager.parse
    with contextlib.suppress(PayloadError):
        keep_alerts(svc, parse(body, source=kind).alerts)


@STORE
@given(message=payloads.cloudwatch_message)
def test_cloudwatch_alarms_that_parse_are_stored(svc: Services, message: str) -> None:
    with contextlib.suppress(PayloadError):
        keep_alerts(svc, [cloudwatch.parse_alarm(message, topic_arn="arn:aws:sns:x:1:alarms")])


@STORE
@given(
    event=st.sampled_from(["topic_created", "post_created", ""]),
    body=st.one_of(payloads.discourse, payloads.forum_generic),
    instance=st.sampled_from(["", "https://forum.example", "https://f." + "x" * 190]),
)
def test_forum_posts_that_parse_are_stored(
    svc: Services, event: str, body: object, instance: str
) -> None:
    with contextlib.suppress(PayloadError):
        post = (
            forum.parse_discourse(event, body, base_url=instance)
            if event
            else forum.parse_generic(body)
        )
        if post is not None:
            source = f"discourse:{instance}" if event else "forum:seeded-forum"
            with svc.unit_of_work(SYSTEM) as ctx:
                customer.receive_forum_post(ctx, post, source=source)


@STORE
@given(raw=payloads.emails())
def test_emails_that_parse_are_stored(svc: Services, raw: bytes) -> None:
    with contextlib.suppress(PayloadError):
        mail = parse_email(raw)
        with svc.unit_of_work(f"email:{mail.sender}"[:200]) as ctx:
            customer.receive_email(ctx, mail, max_attachment_bytes=1024)
