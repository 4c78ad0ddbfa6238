"""Drafts: pre-filled from templates with what changed since the contact was last told; the
company's own templates (beside the process file) override the packaged ones one by one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from escalator.app import Services
from escalator.domain.severity import Answers
from escalator.process.alert import opening
from escalator.process.communicate import updates, view
from escalator.process.core import incidents
from escalator.process.core.errors import InvalidInput
from escalator.process.triage import assessment, report
from tests.fakes import FakeClock


def with_templates(tmp_path: Path, files: dict[str, str]) -> Path:
    defaults = resources.files("escalator.defaults")
    text = (defaults / "default-process.yaml").read_text()
    text = text.replace("  # templates: templates", "  templates: mine").replace(
        "  directory: playbooks", f"  directory: {defaults / 'playbooks'}"
    )
    (tmp_path / "mine").mkdir()
    for name, body in files.items():
        (tmp_path / "mine" / name).write_text(body)
    path = tmp_path / "process.yaml"
    path.write_text(text)
    return path


def draft(svc: Services, key: str, person: str = "noah") -> str:
    with svc.db.read() as s:
        return view.panel(s, svc.process, key, svc.clock.now(), sender=person).draft


def test_a_draft_says_what_changed_since_the_last_update(svc: Services, clock: FakeClock) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="Quotes time out", caller="Bob", contact="+1 555 0100").key
    clock.advance(timedelta(minutes=10))
    with svc.unit_of_work("santhosh") as ctx:
        report.update(ctx, key, {"what": "The quote service runs out of memory."})
        assessment.evaluate(
            ctx,
            key,
            Answers(300, None, "blocked", "losing_money"),
        )
    text = draft(svc, key)
    assert text.startswith('Hello Bob,\n\nHere is our latest on "Quotes time out" (INC-1).')
    # nothing was sent yet: where things stand, not "since our last update"
    assert "Here is where things stand:\n" in text and "Since our last update" not in text
    assert "  - 09:10 rated SEV1\n" in text
    assert "handed to" not in text, "a hand-off between support roles is an internal step"
    assert "What we know: The quote service runs out of memory." in text
    assert "What we are doing: our support manager is working on it" in text
    assert text.endswith("Noah\nMonsoon Commerce Support")

    clock.advance(timedelta(minutes=5))
    with svc.unit_of_work("noah") as ctx:
        updates.send(ctx, key, text="Called Bob.", next_update="1h")
    assert "Since our last update" not in draft(svc, key), "nothing new since the call"
    clock.advance(timedelta(minutes=5))
    with svc.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, key)
    final = draft(svc, key)
    assert '"Quotes time out" (INC-1) is resolved.' in final and "09:20 resolved" in final
    assert "Since our last update:" in final, "Bob was called before"
    assert "answer this message" not in final, "Bob is a phone contact: nothing to answer"


def test_a_draft_tells_each_thing_once_in_plain_grammar(svc: Services, clock: FakeClock) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="Checkout fails", caller="Ann", contact="+1 555 0101").key
    # acknowledged, handed on inside support twice, acknowledged each time
    for who, to in (("santhosh", "support_manager"), ("dinesh", "second_tier"), ("noah", None)):
        clock.advance(timedelta(minutes=1))
        with svc.unit_of_work(who) as ctx:
            incidents.acknowledge(ctx, key)
        clock.advance(timedelta(minutes=1))
        if to is not None:
            with svc.unit_of_work("dinesh") as ctx:
                incidents.escalate(ctx, key, to_role=to)
    with svc.unit_of_work("dinesh") as ctx:
        incidents.escalate(ctx, key, to_role="engineering_council")
    text = draft(svc, key)
    changes = [line for line in text.splitlines() if line.startswith("  - ")]
    news = [line.split(" ", 4)[-1] for line in changes]
    assert len(news) == len(set(news)), f"a line told twice: {changes}"
    assert "our engineering leads took it on" in news
    assert not [n for n in news if "support manager" in n or "second tier" in n], (
        "internal hand-offs stay out"
    )
    assert "What we are doing: our engineering leads are working on it" in text


def test_the_companys_templates_come_first_and_a_broken_one_is_a_clear_refusal(
    make_services: Callable[..., Services], database_url: str, tmp_path: Path
) -> None:
    path = with_templates(
        tmp_path,
        {
            "update.txt": "Dear {{ contact.name }}: {{ incident.title }} is {{ status }}.",
            "next_update.txt": "More by {{ at }}. {{ no_such_thing.here }}",
        },
    )
    svc = make_services(database_url, process_file=path)
    with svc.unit_of_work("santhosh") as ctx:
        key = opening.report(ctx, title="Quotes time out", caller="Bob").key
    assert draft(svc, key) == "Dear Bob: Quotes time out is we are investigating."
    with (
        pytest.raises(InvalidInput, match=r"next_update.txt cannot be rendered: .*no_such_thing"),
        svc.unit_of_work("noah") as ctx,
    ):
        updates.send(ctx, key, text="Called.", next_update="1h")
    with svc.unit_of_work("dinesh") as ctx:
        incidents.resolve(ctx, key)
    assert "is resolved." in draft(svc, key), "resolved.txt: the packaged one stands in"
