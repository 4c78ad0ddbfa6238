"""The modals: the triage report (the five Ws and the five severity questions), a customer
update, handing an incident to the Engineering Council (a note), and the council's decision
(one modal per kind, with that kind's fields as the API takes them, and the reasons). Each
is drawn here from what the use cases know, and read back into their terms; an answer that
cannot be used becomes an error under its input (``response_action: errors``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from escalator.domain.severity import Answers

TRIAGE = "esc.triage_modal"
UPDATE = "esc.update_modal"

W_FIELDS = {
    "who": "Who reported it, who is affected",
    "what": "What is happening",
    "where": "Where (service, region, account)",
    "when": "When it started",
    "how": "How it shows, how to reproduce",
}
USER_IMPACT = {
    "blocked": "Blocked",
    "losing_money": "Losing money",
    "degraded": "Degraded",
    "nice_to_have": "Nice to have",
}
BUSINESS_IMPACT = {
    "losing_money": "Losing money",
    "losing_customer": "Losing a customer",
    "none": "None",
}
LEVELS = ("SEV1", "SEV2", "SEV3", "SEV4")
MAX_TEXT = 3000  # Slack's plain_text_input holds at most 3000 characters


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text[:150]}


def _options(choices: dict[str, str]) -> list[dict[str, Any]]:
    return [{"text": _text(label), "value": value} for value, label in choices.items()]


def _input(
    block: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = True,
    hint: str = "",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "input",
        "block_id": block,
        "label": _text(label),
        "optional": optional,
        "element": {"action_id": "value", **element},
    }
    if hint:
        item["hint"] = _text(hint)
    return item


def _plain(initial: str = "", *, multiline: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:MAX_TEXT]
    return element


def _select(choices: dict[str, str]) -> dict[str, Any]:
    return {"type": "static_select", "options": _options(choices)}


def _modal(callback: str, title: str, key: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": key,
        "title": _text(title[:24]),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def triage_modal(key: str, title: str, report: dict[str, str], tiers: list[str]) -> dict[str, Any]:
    """The five Ws (filled in with the report so far) and the five severity questions."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{key}* {_escape(title)}"}},
        {"type": "header", "text": _text("The 5 Ws")},
    ]
    for name, label in W_FIELDS.items():
        blocks.append(
            _input(name, label, _plain(report.get(name, ""), multiline=name in ("what", "how")))
        )
    blocks.append({"type": "header", "text": _text("Severity: the five questions")})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Answer 1, 3 and 4 to set the severity; leave them empty to save "
                    "the report only.",
                }
            ],
        }
    )
    blocks.append(_input("users_affected", "1. How many users are affected?", _plain()))
    tier_choices = {t: t for t in tiers}
    if tier_choices:
        blocks.append(
            _input(
                "account_tier",
                "2. Which users: their account tier",
                _select(tier_choices),
                hint="Default: the tier of the incident's account",
            )
        )
    blocks.append(_input("user_impact", "3. Impact to the user", _select(USER_IMPACT)))
    blocks.append(_input("business_impact", "4. Impact to the company", _select(BUSINESS_IMPACT)))
    blocks.append(_input("stakeholder", "5. Who was asked", _plain()))
    blocks.append(
        _input(
            "stakeholder_priority",
            "… and the priority they gave",
            _select({level: level for level in LEVELS}),
        )
    )
    return _modal(TRIAGE, f"Triage {key}", key, blocks)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def values(view: dict[str, Any]) -> dict[str, str]:
    """A submitted view's inputs by block id: typed text, or the chosen option's value."""
    found: dict[str, str] = {}
    state = view.get("state")
    given = state.get("values") if isinstance(state, dict) else None
    for block, actions in (given if isinstance(given, dict) else {}).items():
        if not isinstance(actions, dict):
            continue
        for item in actions.values():
            if not isinstance(item, dict):
                continue
            option = item.get("selected_option")
            if isinstance(option, dict):
                found[str(block)] = str(option.get("value") or "")
            elif isinstance(item.get("value"), str):
                found[str(block)] = item["value"]
    return found


@dataclass
class TriageAnswers:
    report: dict[str, str] = field(default_factory=dict)
    answers: Answers | None = None
    errors: dict[str, str] = field(default_factory=dict)


def read_triage(got: dict[str, str], default_tier: str | None) -> TriageAnswers:
    """The report's fields, and the severity answers if any were given; errors by block id."""
    out = TriageAnswers()
    for name in W_FIELDS:
        if name in got:
            out.report[name] = got[name].strip()
    asked = ("users_affected", "user_impact", "business_impact")
    given = [name for name in asked if got.get(name, "").strip()]
    if not given and not got.get("stakeholder_priority"):
        return out
    for name in asked:
        if not got.get(name, "").strip():
            out.errors[name] = "Needed to set the severity (or clear the other answers)."
    count = got.get("users_affected", "").strip().replace(",", "")
    users = 0
    if count:
        if not re.fullmatch(r"[0-9]{1,12}", count):  # not str.isdigit: "²" is a digit too
            out.errors["users_affected"] = "A whole number of users, such as 20."
        else:
            users = int(count)
    impact, business = got.get("user_impact", ""), got.get("business_impact", "")
    if impact and impact not in USER_IMPACT:
        out.errors["user_impact"] = "Choose one of the options."
    if business and business not in BUSINESS_IMPACT:
        out.errors["business_impact"] = "Choose one of the options."
    priority = got.get("stakeholder_priority") or None
    if priority is not None and priority not in LEVELS:
        out.errors["stakeholder_priority"] = "Choose SEV1 to SEV4."
    if not out.errors:
        out.answers = Answers(
            users_affected=users,
            account_tier=got.get("account_tier") or default_tier,
            user_impact=impact,
            business_impact=business,
            stakeholder=got.get("stakeholder", "").strip()[:200],
            stakeholder_priority=priority,  # type: ignore[arg-type]
        )
    return out


def verdict_view(
    key: str, severity: str, reasons: list[str], escalated_to: str | None
) -> dict[str, Any]:
    """What the five questions came to, shown back in the modal."""
    lines = "\n".join(f"• {_escape(r)}" for r in reasons) or "• (no reason given)"
    after = f"\nEscalated to the {escalated_to.replace('_', ' ')}." if escalated_to else ""
    return {
        "type": "modal",
        "callback_id": TRIAGE + ".done",
        "title": _text(f"Triage {key}"[:24]),
        "close": _text("Done"),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{key} is {severity}* because:\n{lines}{after}",
                },
            }
        ],
    }


def update_modal(key: str, draft: str, suggested_next: str, needs_next: bool) -> dict[str, Any]:
    """A customer update to every contact of the incident (COMMUNICATE's ``updates.send``)."""
    return _modal(
        UPDATE,
        f"Update {key}",
        key,
        [
            _input(
                "text", "What the customers read", _plain(draft, multiline=True), optional=False
            ),
            _input(
                "next",
                "Next update",
                _plain(suggested_next if needs_next else ""),
                optional=not needs_next,
                hint="30m, 1h, 14:30 or 2026-11-02T14:30Z",
            ),
        ],
    )


# -- REMEDIATE: handing an incident to the Engineering Council, and the council's decision ---

COUNCIL = "esc.council_modal"
COUNCIL_DECISION = "esc.council_decision_modal"
# the decision's inputs by kind: (block id = the API's field, label, required, hint); the
# reasons are asked of every kind
DECISION_FIELDS: dict[str, list[tuple[str, str, bool, str]]] = {
    "gather_info": [
        ("ask", "Who is asked", True, "second_tier, customer, or a person such as noah"),
        ("question", "The question", True, ""),
        ("due", "Answer due within", False, "4h, 1d (default: the process file's)"),
    ],
    "allocate_short_term": [
        ("engineers", "Engineers", True, "People of the process file, comma-separated"),
    ],
    "allocate_long_term": [
        ("sprint", "Sprint", True, "An open or future sprint, by name"),
        ("engineers", "Engineers", False, "People of the process file, comma-separated"),
        ("sprint_ends", "Sprint ends", False, "Built-in tracker: its end, such as 2026-12-11"),
    ],
    "rollback_flag": [
        ("flag", "Flag", True, "The feature flag's key"),
        ("project", "Project", False, "Unleash project (default: default)"),
        ("environment", "Environment", True, "such as production"),
    ],
    "rollback_release": [
        ("release", "Release", True, "The release to roll back"),
        ("service", "Service", False, ""),
    ],
}
MULTILINE = {"question", "reasons"}
FLAG = ("flag", "project", "environment")  # a rollback's fields the changes fill in


def metadata(key: str, channel: str | None, kind: str = "") -> str:
    """What a council modal carries to its submit: the incident, the kind, and the channel
    the click came from (a refusal is told there)."""
    return json.dumps({"key": key, "kind": kind, "channel": channel or ""})


def read_metadata(view: dict[str, Any]) -> dict[str, str]:
    try:
        found = json.loads(str(view.get("private_metadata", "")))
    except ValueError:
        return {"key": "", "kind": "", "channel": ""}
    found = found if isinstance(found, dict) else {}
    return {name: str(found.get(name) or "") for name in ("key", "kind", "channel")}


def council_modal(key: str, title: str, channel: str | None) -> dict[str, Any]:
    """Hand the incident to the Engineering Council, with a note for its members."""
    view = _modal(
        COUNCIL,
        f"To council {key}",
        key,
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{key}* {_escape(title)}"}},
            _input(
                "note",
                "A note for the council",
                _plain(multiline=True),
                hint="Every member is told; the council's clock starts.",
            ),
        ],
    )
    view["private_metadata"] = metadata(key, channel)
    view["submit"] = _text("To council")
    return view


def decision_modal(
    key: str,
    title: str,
    kind: str,
    label: str,
    channel: str | None,
    *,
    filled: dict[str, str],
    changed: list[str],
) -> dict[str, Any]:
    """A council decision of ``kind``: its fields (``filled`` in from the changes before the
    incident opened, for a rollback) and the reasons; the changes listed above."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{key}* {_escape(title)}\n*{_escape(label)}*"},
        }
    ]
    if changed:
        lines = "\n".join(f"• {_escape(line)}" for line in changed[:10])
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"Changed before this opened:\n{lines}"[:3000]}
                ],
            }
        )
    for name, text, required, hint in DECISION_FIELDS[kind]:
        blocks.append(
            _input(
                name,
                text,
                _plain(filled.get(name, ""), multiline=name in MULTILINE),
                optional=not required,
                hint=hint,
            )
        )
    blocks.append(_input("reasons", "Reasons", _plain(multiline=True), optional=False))
    view = _modal(COUNCIL_DECISION, f"Decide {key}", key, blocks)
    view["private_metadata"] = metadata(key, channel, kind)
    view["submit"] = _text("Decide")
    return view


def read_decision(kind: str, got: dict[str, str]) -> dict[str, Any]:
    """The decision's parameters as the API takes them (engineers as a list)."""
    params: dict[str, Any] = {}
    for name, _, _, _ in DECISION_FIELDS.get(kind, []):
        value = got.get(name, "").strip()
        if not value:
            continue
        if name == "engineers":
            params[name] = [n.strip() for n in value.split(",") if n.strip()]
        else:
            params[name] = value
    return params
