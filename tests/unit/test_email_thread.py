"""Replies that thread in the customer's mail client (RFC 5322 §3.6.4, ../shared/wire/email.md)."""

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalator.domain.email_thread import KEEP, Thread, message_ids, reply_subject

WIRE = Path(__file__).parent.parent / "wire"


@pytest.mark.parametrize(
    ("subject", "reply"),
    [
        ("Checkout page returns 502", "Re: Checkout page returns 502"),
        ("Re: Checkout page returns 502", "Re: Checkout page returns 502"),
        ("RE:  re: Checkout", "Re: Checkout"),
        ("  Prices\n show $0 ", "Re: Prices show $0"),
        ("", "Re:"),
    ],
)
def test_one_re_and_the_customers_subject(subject: str, reply: str) -> None:
    assert reply_subject(subject) == reply


@given(st.text(max_size=80))
def test_never_re_re(subject: str) -> None:
    once = reply_subject(subject)
    assert not once.lower().startswith("re: re:") and reply_subject(once) == once


def test_the_wire_example_is_what_replying_to_its_parent_gives() -> None:
    """email_reply_threaded.eml: the 4th message of customer, us, customer, us."""
    mail = message_from_bytes(
        (WIRE / "email_reply_threaded.eml").read_bytes(), policy=policy.default
    )
    first, ours, second = message_ids(str(mail["References"]))
    customer = Thread.of_message("Checkout page returns 502", first)
    after_ours = customer.after_reply(ours)
    parent = Thread.of_message(
        "Re: Checkout page returns 502", second, references=(first, ours), in_reply_to=(ours,)
    )
    assert after_ours.reply_headers()["References"] == f"{first} {ours}"
    headers = parent.reply_headers()
    assert headers["In-Reply-To"] == str(mail["In-Reply-To"]).strip()
    assert headers["References"].split() == str(mail["References"]).split()
    assert reply_subject(parent.subject) == mail["Subject"]


def test_a_parent_without_references_but_one_in_reply_to_is_taken_as_referencing_it() -> None:
    thread = Thread.of_message("Hi", "<b@x>", in_reply_to=("<a@x>",))
    assert thread.reply_headers() == {"In-Reply-To": "<b@x>", "References": "<a@x> <b@x>"}
    assert Thread.of_message("Hi", "<b@x>", in_reply_to=("<a@x>", "<c@x>")).references == ()


def test_a_thread_not_started_yet_has_no_reply_headers() -> None:
    assert Thread("[INC-1] Prices").reply_headers() == {}
    assert Thread("[INC-1] Prices").after_reply("<us@m>").reply_headers() == {
        "In-Reply-To": "<us@m>",
        "References": "<us@m>",
    }


ids = st.from_regex(r"<[A-Za-z0-9.]{1,12}@[a-z]{1,8}\.example>", fullmatch=True)


@given(st.lists(ids, min_size=1, max_size=60, unique=True))
def test_long_threads_keep_the_first_and_the_newest_references(chain: list[str]) -> None:
    thread = Thread.of_message("Hi", chain[0])
    for msgid in chain[1:]:
        thread = thread.after_reply(msgid)
    refs = thread.reply_headers()["References"].split()
    assert refs[-1] == chain[-1] and refs[0] == chain[0]
    assert len(refs) == min(len(chain), KEEP)
    assert refs[1:] == chain[len(chain) - len(refs) + 1 :]
    assert Thread.from_dict(thread.as_dict()) == thread
