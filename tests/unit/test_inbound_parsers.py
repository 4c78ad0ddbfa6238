"""Property tests for every inbound parser: any input either parses or raises PayloadError
(a 4xx), never anything else; plus the time formats the peers really send."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalator.domain.alerts import AlertIn, fingerprint_of, group_key
from escalator.integrations.inbound import alertmanager, cloudwatch, forum, generic, sns
from escalator.integrations.inbound.common import PayloadError, parse_time
from escalator.integrations.inbound.email import parse_email

WIRE = Path(__file__).parents[1] / "wire"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00.123456789Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2015-06-03T17:43:27.123+0000", datetime(2015, 6, 3, 17, 43, 27, 123000, tzinfo=UTC)),
        ("2021-10-12T09:51:03.157076+02:00", datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
    ],
)
def test_peer_time_formats(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


@FUZZ
@given(json_values)
def test_alertmanager_and_grafana_parsers_never_crash(body: object) -> None:
    for parse in (alertmanager.parse, generic.parse):
        try:
            batch = parse(body)
        except PayloadError:
            continue
        assert all(isinstance(a, AlertIn) for a in batch.alerts)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "Type",
                "MessageId",
                "TopicArn",
                "Timestamp",
                "Signature",
                "SignatureVersion",
                "SigningCertURL",
                "Message",
                "SubscribeURL",
            ]
        ),
        json_values,
    )
)
def test_sns_envelope_never_crashes(body: dict) -> None:
    with contextlib.suppress(PayloadError):
        sns.envelope(body)


@FUZZ
@given(json_values)
def test_cloudwatch_alarm_parser_never_crashes(alarm: object) -> None:
    with contextlib.suppress(PayloadError):
        cloudwatch.parse_alarm(json.dumps(alarm))


@FUZZ
@given(st.sampled_from(["topic_created", "post_created", "ping"]), json_values)
def test_forum_parsers_never_crash(event: str, body: object) -> None:
    for call in (lambda: forum.parse_discourse(event, body), lambda: forum.parse_generic(body)):
        with contextlib.suppress(PayloadError):
            call()


@FUZZ
@given(st.binary(max_size=400))
def test_email_parser_never_crashes(raw: bytes) -> None:
    with contextlib.suppress(PayloadError):
        parse_email(raw)


def test_the_wire_examples_parse() -> None:
    batch = alertmanager.parse(json.loads((WIRE / "alertmanager_webhook_v4.json").read_text()))
    assert [a.fingerprint for a in batch.alerts] == ["a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"]
    assert batch.alerts[0].ends_at is None and batch.alerts[0].severity == "critical"
    grafana = alertmanager.parse(
        json.loads((WIRE / "grafana_webhook.json").read_text()), source="grafana"
    )
    assert [link.text for link in grafana.alerts[0].links] == ["Source", "Silence", "Runbook"]
    alarm = cloudwatch.parse_alarm((WIRE / "cloudwatch_alarm_message.json").read_text())
    assert (alarm.title, alarm.status.value, alarm.labels["InstanceId"]) == (
        "EXAMPLE",
        "firing",
        "TestInstance",
    )


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6))
def test_fingerprints_ignore_label_order(labels: dict[str, str]) -> None:
    assert fingerprint_of(labels) == fingerprint_of(dict(reversed(list(labels.items()))))


def test_grouping_by_labels_and_fallback_to_the_alert_itself() -> None:
    def alert(**labels: str) -> AlertIn:
        return AlertIn(
            source="am",
            fingerprint=fingerprint_of(labels),
            status="firing",
            title="t",
            labels=labels,
        )  # type: ignore[arg-type]

    by = ["alertname", "service"]
    assert group_key(alert(alertname="Lag", service="a", pod="1"), by) == group_key(
        alert(alertname="Lag", service="a", pod="2"), by
    )
    assert group_key(alert(alertname="Lag", service="a"), by) != group_key(
        alert(alertname="Lag", service="b"), by
    )
    assert group_key(alert(pod="1"), by) != group_key(alert(pod="2"), by)
