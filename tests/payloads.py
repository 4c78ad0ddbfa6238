"""Hypothesis strategies for what the outside sends: JSON of any shape, and payloads shaped
like each source's (so that many parse) carrying the text that breaks storage: NULs, lone
surrogates, text longer than any column, far-off timestamps, huge numbers."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

# any character at all, lone surrogates included (Hypothesis leaves them out by default)
_any_char = st.characters(exclude_categories=())
_awkward = st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udcff", "\ufeff", "é", "\u202e", "<!channel>", "", " ", "0"]
)
text = st.one_of(
    st.text(min_size=1, max_size=20),
    st.text(string.ascii_letters, min_size=1, max_size=12),
    st.from_regex(r"\A[a-z][a-z0-9 ._-]{0,30}\Z"),
    st.text(_any_char, max_size=20),
    _awkward,
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "\U0001f600"]), st.integers(0, 520)),
)
numbers = st.one_of(
    st.integers(), st.integers(min_value=2**63 - 2, max_value=2**70), st.floats(allow_nan=False)
)
timestamps = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:01+14:00",
            "2026-11-27T10:00:00Z",
            "2015-06-03T17:43:27.123+0000",
            "0001-01-01T00:00:00Z",
            "yesterday",
        ]
    ),
    text,
    numbers,
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


def _or_anything(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's usual kind of value, or anything at all (for the fields a parser must check)."""
    return value | json_values


_labels = st.dictionaries(
    st.sampled_from(["alertname", "service", "instance", "job"]) | text, text, min_size=1
)
_am_alert = st.fixed_dictionaries(
    {"labels": _labels},
    optional={
        "status": _or_anything(st.sampled_from(["firing", "resolved"])),
        "annotations": st.dictionaries(
            st.sampled_from(["summary", "description", "runbook_url"]) | text, text
        ),
        "startsAt": timestamps,
        "endsAt": timestamps,
        "fingerprint": st.text("0123456789abcdef", min_size=1, max_size=80) | text,
        "generatorURL": st.just("https://prometheus.example/graph") | text,
    },
)
alertmanager = st.fixed_dictionaries(
    {"alerts": st.lists(_am_alert, min_size=1, max_size=3)},
    optional={"truncatedAlerts": st.integers(0, 5), "commonLabels": _labels},
)
_generic_alert = st.fixed_dictionaries(
    {"title": text},
    optional={
        "status": st.sampled_from(["firing", "resolved"]),
        "fingerprint": text,
        "service": text,
        "severity": text,
        "description": text,
        "labels": st.dictionaries(text, text, max_size=3),
        "links": st.lists(
            st.fixed_dictionaries(
                {"href": st.just("https://example.com/") | text.map("https://x/".__add__)},
                optional={"text": text},
            ),
            max_size=3,
        ),
        "started_at": timestamps,
        "ended_at": timestamps,
    },
)
generic = st.one_of(
    _generic_alert,
    st.fixed_dictionaries({"alerts": st.lists(_generic_alert, min_size=1, max_size=3)}),
)
_dimension = st.fixed_dictionaries({"name": text, "value": _or_anything(text)})
cloudwatch_alarm = st.fixed_dictionaries(
    {
        "AlarmName": text,
        "NewStateValue": _or_anything(st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA"])),
    },
    optional={
        "AlarmDescription": text,
        "AWSAccountId": text,
        "Region": text,
        "AlarmArn": st.just("arn:aws:cloudwatch:eu-west-1:1:alarm:x") | text,
        "NewStateReason": text,
        "StateChangeTime": timestamps,
        "Trigger": st.fixed_dictionaries(
            {},
            optional={
                "MetricName": text,
                "Namespace": text,
                "Dimensions": _or_anything(st.lists(_dimension, max_size=3)),
            },
        ),
    },
)
cloudwatch_message = cloudwatch_alarm.map(json.dumps)
forum_generic = st.fixed_dictionaries(
    {"thread_id": text, "title": text},
    optional={
        "body": text,
        "author": text,
        "account": text,
        "url": text,
        "first_post": st.booleans(),
    },
)
_ids = _or_anything(st.integers(1, 10) | numbers)
discourse = st.one_of(
    st.fixed_dictionaries(
        {
            "topic": st.fixed_dictionaries(
                {"id": _ids},
                optional={
                    "title": _or_anything(text),
                    "slug": text,
                    "created_by": st.fixed_dictionaries({"username": _or_anything(text)}),
                },
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "post": st.fixed_dictionaries(
                {"topic_id": _ids},
                optional={
                    "post_number": _or_anything(st.integers(1, 3)),
                    "topic_title": text,
                    "raw": _or_anything(text),
                    "username": text,
                },
            )
        }
    ),
)

_header_text = st.one_of(
    st.text(max_size=30).map(str.encode),
    st.binary(max_size=30),
    st.sampled_from([b"=?x-unknown?q?caf=E9?=", b"=?utf-8?b?////?=", b"=?utf-8?q?a=00b?="]),
)
_charsets = st.sampled_from(
    [b"utf-8", b"x-unknown", b"latin-1", b"utf-16", b"utf-7", b"", b"us-ascii", b'"utf-8']
)
_encodings = st.sampled_from([b"7bit", b"8bit", b"base64", b"quoted-printable", b"x-what"])


@st.composite
def emails(draw: st.DrawFn) -> bytes:
    """MIME messages: headers as any bytes, a text part in any charset and encoding, maybe an
    attachment with any name."""
    headers = [
        b"From: "
        + draw(_header_text)
        + b" <"
        + draw(st.sampled_from([b"bob@acme.com", b"x"]))
        + b">",
        b"To: support@monsoon.example",
        b"Subject: " + draw(_header_text),
        b"Message-ID: <" + draw(_header_text) + b"@acme.com>",
    ]
    if draw(st.booleans()):
        headers.append(b"In-Reply-To: <" + draw(_header_text) + b">")
    body = draw(
        st.binary(max_size=60)
        | st.text(_any_char, max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
    kind = draw(st.sampled_from([b"text/plain", b"text/html"]))
    part = (
        b"Content-Type: " + kind + b"; charset=" + draw(_charsets) + b"\r\n"
        b"Content-Transfer-Encoding: " + draw(_encodings) + b"\r\n\r\n" + body
    )
    if not draw(st.booleans()):
        return b"\r\n".join(headers) + b"\r\n" + part
    attachment = (
        b"Content-Type: " + draw(st.sampled_from([b"text/plain", b"x/" + b"y" * 300])) + b"\r\n"
        b'Content-Disposition: attachment; filename="' + draw(_header_text) + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
    )
    return (
        b"\r\n".join(headers)
        + b'\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"--b\r\n"
        + part
        + b"\r\n--b\r\n"
        + attachment
        + b"--b--\r\n"
    )
