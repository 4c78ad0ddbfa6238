"""Property tests for every inbound parser: any input either parses or raises PayloadError
(a 4xx), never anything else, and what parses carries only text a database can keep; plus the
time formats the peers really send. (tests/store/test_parsed_payloads.py stores what parses.)"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalator.domain.alerts import AlertIn, fingerprint_of, group_key
from escalator.domain.text import first_flaw
from escalator.integrations.inbound import alertmanager, cloudwatch, forum, generic, sns
from escalator.integrations.inbound.common import (
    MAX_JSON_DEPTH,
    JsonError,
    PayloadError,
    load_json,
    parse_time,
)
from escalator.integrations.inbound.email import parse_email
from tests import payloads
from tests.payloads import json_values

WIRE = Path(__file__).parents[1] / "wire"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def storable(alert: AlertIn) -> None:
    """What a parser returns fits the alerts table on both databases."""
    assert first_flaw([alert.title, alert.description, alert.fingerprint, alert.service]) is None
    assert first_flaw([dict(alert.labels), dict(alert.annotations)]) is None
    assert first_flaw([[link.href, link.text] for link in alert.links]) is None
    assert len(alert.title) <= 500 and len(alert.fingerprint) <= 128


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
@given(st.one_of(json_values, payloads.alertmanager, payloads.generic))
def test_alertmanager_and_generic_parsers_never_crash(body: object) -> None:
    for parse in (alertmanager.parse, generic.parse):
        try:
            batch = parse(body)
        except PayloadError:
            continue
        for alert in batch.alerts:
            storable(alert)
        assert all(isinstance(r.reason, str) for r in batch.rejected)


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
        message = sns.envelope(body)
        assert first_flaw({k: v for k, v in message.items() if k != "Message"}) is None


@FUZZ
@given(st.one_of(json_values.map(json.dumps), payloads.cloudwatch_message))
def test_cloudwatch_alarm_parser_never_crashes(message: str) -> None:
    with contextlib.suppress(PayloadError):
        storable(cloudwatch.parse_alarm(message))


@FUZZ
@given(
    st.sampled_from(["topic_created", "post_created", "ping"]),
    st.one_of(json_values, payloads.discourse, payloads.forum_generic),
)
def test_forum_parsers_never_crash(event: str, body: object) -> None:
    for call in (lambda: forum.parse_discourse(event, body), lambda: forum.parse_generic(body)):
        with contextlib.suppress(PayloadError):
            post = call()
            assert post is None or first_flaw(vars(post)) is None


@FUZZ
@given(st.one_of(st.binary(max_size=400), payloads.emails()))
def test_email_parser_never_crashes(raw: bytes) -> None:
    with contextlib.suppress(PayloadError):
        mail = parse_email(raw)
        fields = {k: v for k, v in vars(mail).items() if k != "attachments"}
        assert first_flaw(fields) is None
        assert first_flaw([[a.filename, a.content_type] for a in mail.attachments]) is None
        assert len(mail.subject) <= 500 and all(len(ref) <= 500 for ref in mail.references)


@FUZZ
@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_json_is_read_or_refused_with_a_reason(raw: bytes) -> None:
    with contextlib.suppress(JsonError):
        load_json(raw)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("[" * 1000 + "]" * 1000, f"within {MAX_JSON_DEPTH} levels"),
        ('{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1), "nested too deeply"),
        ("1" * 5000, "too many digits"),
        (b"\xff", "not UTF-8"),
        ("{oops", "malformed JSON: Expecting property name"),
    ],
)
def test_json_too_deep_too_long_or_broken_is_refused_by_name(raw: str | bytes, says: str) -> None:
    with pytest.raises(JsonError, match=says):
        load_json(raw)
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


def test_a_cloudwatch_alarm_whose_dimensions_are_a_number_is_refused_naming_the_field() -> None:
    alarm = json.loads((WIRE / "cloudwatch_alarm_message.json").read_text())
    alarm["Trigger"]["Dimensions"] = 5
    with pytest.raises(PayloadError) as refused:
        cloudwatch.parse_alarm(json.dumps(alarm))
    assert refused.value.field == "Message.Trigger.Dimensions"


def test_an_alert_with_a_nul_is_rejected_by_index_and_the_one_beside_it_kept() -> None:
    batch = generic.parse({"alerts": [{"title": "bad\u0000title"}, {"title": "good"}]})
    assert [a.title for a in batch.alerts] == ["good"]
    assert batch.rejected[0].index == 0 and "NUL" in batch.rejected[0].reason
    am = alertmanager.parse(
        {"alerts": [{"labels": {"alertname": "x\ud800"}}, {"labels": {"a": "b"}}]}
    )
    assert len(am.alerts) == 1 and "lone surrogate" in am.rejected[0].reason


def test_an_email_in_an_unknown_charset_is_kept_with_what_can_be_read() -> None:
    raw = (
        b"From: Bob <bob@acme.com>\r\nSubject: Prices\r\nMessage-ID: <1@acme.com>\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nPrices are \xe9 wrong\x00\r\n"
    )
    mail = parse_email(raw)
    assert mail.text == "Prices are \ufffd wrong"
    assert mail.subject == "Prices"


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
