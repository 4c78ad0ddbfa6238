"""What a Slack request means, and the use case it calls.

Every request arrives verified (``signing.py``, by the HTTP endpoint; Socket Mode is trusted
by its app token). The Slack user is mapped to a person by ``people.*.slack``; an unmapped user
is told how to be added, and nothing happens. Clicks are answered at once (``Answer.later`` is
the work, done after the answer: Slack wants one within 3 seconds); modal submits and slash
commands are answered with their result, since Slack shows the answer (errors under their
inputs, the severity and its reasons). The use cases check roles exactly as for the API, and
run as the person ``via="slack"``, so the timeline says so. Two clicks racing are two
transactions on the incident's row: the second sees what the first did and is refused (an
acknowledgement after a resolve cannot un-resolve it).

REMEDIATE: **To council** opens a modal for the note and hands the incident over
(``council.bring``, which checks who may); **Decide (council)…** opens the chosen kind's
modal for council members only, and its submit records the decision (``decisions.decide``,
which checks again). An error about an input comes back under it; a refusal closes the modal
and is told as an ephemeral message in the channel the click came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from escalator.app import Services
from escalator.domain.durations import format_duration
from escalator.domain.lifecycle import IllegalTransition
from escalator.domain.permissions import Forbidden, check_action, check_escalation
from escalator.domain.roles import ENGINEERING_COUNCIL
from escalator.process.alert import opening
from escalator.process.communicate import updates
from escalator.process.communicate import view as communicate_view
from escalator.process.core import announce, incidents, people, queries
from escalator.process.core.errors import InvalidInput, NotFound
from escalator.process.core.records import load
from escalator.process.escalate import escalation, paging
from escalator.process.escalate.pages import ringing_for
from escalator.process.remediate import council, decisions
from escalator.process.remediate import view as remediate_view
from escalator.process.triage import assessment, report
from escalator.process.triage import view as triage_view
from escalator.slack import views

log = logging.getLogger("escalator.slack")
VIA = "slack"
REFUSALS = (IllegalTransition, Forbidden, InvalidInput, NotFound)
MOVES: dict[str, Callable[..., object]] = {  # button -> use case(ctx, key)
    announce.ACKNOWLEDGE: paging.acknowledge,  # an SME paged for help joins as a responder
    announce.RESOLVE: incidents.resolve,
    announce.CLAIM: incidents.claim,
    announce.BRING_IN: paging.bring_in,
}


@dataclass
class Answer:
    """What to answer Slack at once (``body``: JSON, or nothing), and the work to do after."""

    body: dict[str, Any] | None = None
    later: Callable[[], None] | None = None


def unmapped_text(user: str) -> str:
    return (
        f"Escalator does not know your Slack user ({user}), so it did nothing. Ask whoever keeps "
        f"the process file to add `slack: {user}` to your entry under `people:`."
    )


class SlackFace:
    def __init__(self, svc: Services, client: WebClient | None = None) -> None:
        self.svc = svc
        token = svc.settings.slack_bot_token
        self.client = client or WebClient(
            token=token.get_secret_value() if token else None,
            base_url=svc.settings.slack_api_url,
            timeout=5,
        )
        self._people = {
            p.slack: pid for pid, p in svc.process.spec.people.items() if p.slack is not None
        }

    def person(self, user: str) -> str | None:
        return self._people.get(user)

    # -- interactivity: buttons, selects, modal submits -----------------------------------

    def interactive(self, payload: dict[str, Any]) -> Answer:
        kind = payload.get("type")
        user = _user_id(payload)
        person = self.person(user)
        if kind == "block_actions":
            where = _channel_of(payload)
            if person is None:
                return Answer(later=lambda: self.tell(where, user, unmapped_text(user)))
            actions = payload.get("actions")
            if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
                return Answer()
            return self._action(
                person,
                user,
                where,
                actions[0],
                str(payload.get("trigger_id", "")),
                _message_of(payload),
            )
        if kind == "view_submission":
            view = payload.get("view")
            view = view if isinstance(view, dict) else {}
            if person is None:
                return _errors({"_": unmapped_text(user)}, view)
            return self._submit(person, user, view)
        return Answer()  # view_closed, shortcuts: nothing to do

    def _action(
        self,
        person: str,
        user: str,
        where: str | None,
        action: dict[str, Any],
        trigger: str,
        message: tuple[str, str] | None = None,
    ) -> Answer:
        action_id = str(action.get("action_id", ""))
        value = str(action.get("value", ""))
        if action_id in (announce.DECIDE, announce.COUNCIL_DECIDE):
            option = action.get("selected_option") or {}
            value = str(option.get("value", "")) if isinstance(option, dict) else ""
        key, _, decision = value.partition(" ")
        page_dm = (
            message if str(action.get("block_id", "")).startswith(announce.PAGE_BLOCK) else None
        )

        def act(use_case: Callable[..., object], *args: object, **kwargs: object) -> Answer:
            def later() -> None:
                try:
                    with self.svc.unit_of_work(person, via=VIA) as ctx:
                        use_case(ctx, key, *args, **kwargs)
                except REFUSALS as exc:
                    self.tell(where, user, f"{key}: {_reason(exc)}")
                    return
                if page_dm is not None:
                    self._answered(page_dm, f":white_check_mark: {key}: acknowledged by you.")

            return Answer(later=later)

        if action_id in MOVES:
            return act(MOVES[action_id])
        if action_id == announce.DECIDE:
            return act(escalation.decide, decision)
        if action_id == announce.TRIAGE:
            return Answer(
                later=lambda: self._open(where, user, trigger, lambda: self._triage_view(key))
            )
        if action_id == announce.TO_COUNCIL:
            return Answer(
                later=lambda: self._open(
                    where, user, trigger, lambda: self._council_view(person, key, where)
                )
            )
        if action_id == announce.COUNCIL_DECIDE:
            return Answer(
                later=lambda: self._open(
                    where,
                    user,
                    trigger,
                    lambda: self._decision_view(person, key, decision, where),
                )
            )
        if action_id == announce.UPDATE:
            return Answer(
                later=lambda: self._open(
                    where, user, trigger, lambda: self._update_view(person, key)
                )
            )
        return Answer()

    def _open(
        self, where: str | None, user: str, trigger: str, make: Callable[[], dict[str, Any]]
    ) -> None:
        try:
            view = make()
        except REFUSALS as exc:
            self.tell(where, user, _reason(exc))
            return
        try:
            self.client.views_open(trigger_id=trigger, view=view)
        except (SlackApiError, OSError) as exc:
            log.warning("could not open a Slack modal: %s", exc)

    def _triage_view(self, key: str) -> dict[str, Any]:
        with self.svc.db.read() as session:
            seen = triage_view.load(session, key, with_related=False)
            row = seen.report
            filled = {f: getattr(row, f) or "" for f in report.FIELDS} if row else {}
            return views.triage_modal(seen.incident.key, seen.incident.title, filled, self._tiers())

    def _tiers(self) -> list[str]:
        spec = self.svc.process.spec
        tiers = {a.tier for a in spec.accounts.values()}
        for rule in spec.severity.rules:
            tiers.update(rule.when.account_tier or [])
        return sorted(tiers)

    def _update_view(self, person: str, key: str) -> dict[str, Any]:
        check_action(person, self.svc.process.roles_of(person), "customer.update")
        with self.svc.db.read() as session:
            panel = communicate_view.panel(
                session, self.svc.process, key, self.svc.clock.now(), sender=person
            )
            return views.update_modal(
                panel.incident.key, panel.draft, panel.suggested_next, panel.needs_next
            )

    def _council_view(self, person: str, key: str, where: str | None) -> dict[str, Any]:
        """The note for the council; only the roles that may hand an incident to it."""
        check_escalation(person, self.svc.process.roles_of(person), ENGINEERING_COUNCIL)
        with self.svc.db.read() as session:
            incident = queries.get_incident(session, key)
            return views.council_modal(incident.key, incident.title, where)

    def _decision_view(self, person: str, key: str, kind: str, where: str | None) -> dict[str, Any]:
        """A council decision of ``kind``: council members only; a rollback's fields filled in
        from the changes before the incident opened, which are listed."""
        if kind not in views.DECISION_FIELDS:
            raise InvalidInput("kind", "one of " + ", ".join(views.DECISION_FIELDS))
        with self.svc.looking(person) as ctx:
            council.check_member(ctx)
            incident = queries.get_incident(ctx.session, key)
            panel = remediate_view.panel(ctx.session, self.svc.process, incident)
            filled: dict[str, str] = {}
            if kind == "rollback_flag" and panel.flags:
                filled = {name: str(panel.flags[0].get(name) or "") for name in views.FLAG}
            if kind == "rollback_release" and panel.releases:
                filled = {"release": panel.releases[0]}
            changed = [
                f"{format_duration(b.before)} before: {b.change.summary}"
                + (f" ({b.change.service})" if b.change.service else "")
                for b in panel.changes
            ]
            return views.decision_modal(
                incident.key,
                incident.title,
                kind,
                announce.COUNCIL_KINDS[kind],
                where,
                filled=filled,
                changed=changed,
            )

    def _submit(self, person: str, user: str, view: dict[str, Any]) -> Answer:
        callback = view.get("callback_id")
        key = str(view.get("private_metadata", ""))
        got = views.values(view)
        if callback in (views.COUNCIL, views.COUNCIL_DECISION):
            return self._council_submit(person, user, view, got)
        try:
            if callback == views.TRIAGE:
                return self._triage(person, key, got, view)
            if callback == views.UPDATE:
                with self.svc.unit_of_work(person, via=VIA) as ctx:
                    updates.send(ctx, key, text=got.get("text", ""), next_update=got.get("next"))
                return Answer()  # an empty answer closes the modal
        except InvalidInput as exc:
            return _errors({exc.field: exc.reason}, view)
        except REFUSALS as exc:
            return _errors({"_": _reason(exc)}, view)
        return Answer()

    def _council_submit(
        self, person: str, user: str, view: dict[str, Any], got: dict[str, str]
    ) -> Answer:
        """To the council, or a council decision: an error about an input comes back under it;
        a refusal (not a member, not allowed, nothing to decide) closes the modal and is told
        as an ephemeral message where the button was clicked."""
        meta = views.read_metadata(view)
        key, kind, where = meta["key"], meta["kind"], meta["channel"] or None
        try:
            with self.svc.unit_of_work(person, via=VIA) as ctx:
                if view.get("callback_id") == views.COUNCIL:
                    council.bring(ctx, key, note=got.get("note", "").strip()[:5000])
                else:
                    decisions.decide(
                        ctx,
                        key,
                        kind,
                        reasons=got.get("reasons", ""),
                        params=views.read_decision(kind, got),
                        remote=self.svc.remote,
                    )
        except REFUSALS as exc:
            if isinstance(exc, InvalidInput) and exc.field in _inputs(view):
                return _errors({exc.field: exc.reason}, view)
            reason = f"{key}: {_reason(exc)}"
            return Answer(later=lambda: self.tell(where, user, reason))
        return Answer()  # an empty answer closes the modal

    def _triage(self, person: str, key: str, got: dict[str, str], view: dict[str, Any]) -> Answer:
        with self.svc.unit_of_work(person, via=VIA) as ctx:
            incident = load(ctx, key)
            read = views.read_triage(got, incident.details.get("account_tier"))
            if read.errors:
                return _errors(read.errors, view)
            changed = {f: v for f, v in read.report.items() if v}
            if changed:
                report.update(ctx, key, changed)
            if read.answers is None:
                return Answer()
            incident, verdict = assessment.evaluate(ctx, key, read.answers)
            escalated = incident.owner_role if incident.owner_role == "support_manager" else None
        shown = views.verdict_view(incident.key, verdict.severity, list(verdict.reasons), escalated)
        return Answer({"response_action": "update", "view": shown})

    # -- /escalator -------------------------------------------------------------------------

    def command(self, form: dict[str, str]) -> Answer:
        user = str(form.get("user_id", ""))
        person = self.person(user)
        if person is None:
            return _say(unmapped_text(user))
        word, _, rest = str(form.get("text", "")).strip().partition(" ")
        rest = rest.strip()
        try:
            if word == "report" and rest:
                with self.svc.unit_of_work(person, via=VIA) as ctx:
                    incident = opening.report(ctx, title=rest[:500], channel="phone")
                    return _say(f"Opened {incident.key}: {announce.mrkdwn(incident.title)}")
            if word == "oncall":
                return _say(self._oncall(person))
            if word == "mine":
                return _say(self._mine(person))
            if word == "status" and rest:
                return _say(self._status(rest))
        except REFUSALS as exc:
            return _say(_reason(exc))
        return _say(HELP)

    def _oncall(self, person: str) -> str:
        with self.svc.looking(person) as ctx:
            rows = people.now(ctx)
        lines = ["*Who holds each role now*"]
        for row in rows:
            who = ", ".join(row.people) or "nobody"
            until = (
                f" until {row.until:%a %H:%M} UTC, then {row.next_person}"
                if row.until and row.next_person
                else ""
            )
            lines.append(f"• {row.role.replace('_', ' ')}: {who}{until}")
        return "\n".join(lines)

    def _mine(self, person: str) -> str:
        now = self.svc.clock.now()
        with self.svc.db.read() as session:
            owned = queries.owned_by(session, person)
            ringing = ringing_for(session, person)
            lines = [f"*{person}: your incidents and pages*"]
            for page, incident in ringing:
                due = _left(page.ack_due_at, now)
                lines.append(
                    f"• :rotating_light: page for {incident.key} "
                    f"{announce.mrkdwn(incident.title)}: acknowledge {due}"
                )
            for incident in owned:
                lines.append("• " + _one_line(incident, now))
        if len(lines) == 1:
            lines.append("Nothing: no incident of yours is open and no page is waiting.")
        return "\n".join(lines)

    def _status(self, key: str) -> str:
        with self.svc.db.read() as session:
            incident = queries.get_incident(session, key)
            clocks = [
                f"{t.kind}: {_left(t.due_at, self.svc.clock.now())}"
                for t in queries.pending_timers(session, incident)
            ]
            text = announce.summary_text(incident)
        return text + ("\nClocks: " + "; ".join(clocks) if clocks else "")

    def _answered(self, message: tuple[str, str], text: str) -> None:
        """A page DM, answered: its button gives way to who answered."""
        channel, ts = message
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            log.warning("could not update a page DM: %s", exc)

    # -- telling the person -----------------------------------------------------------------

    def tell(self, channel: str | None, user: str, text: str) -> None:
        """An ephemeral message in the channel the click came from (a DM if none)."""
        try:
            if channel:
                self.client.chat_postEphemeral(channel=channel, user=user, text=text)
            else:
                self.client.chat_postMessage(channel=user, text=text)
        except (SlackApiError, OSError) as exc:
            log.warning("could not tell a Slack user %s: %s", user, exc)


HELP = (
    "*/escalator* — `report <title>` (a customer phoned: open an incident), `oncall` (who "
    "holds every role now), `mine` (your incidents and pages), `status INC-42`."
)


def _say(text: str) -> Answer:
    return Answer({"response_type": "ephemeral", "text": text})


def _errors(errors: dict[str, str], view: dict[str, Any]) -> Answer:
    """Errors under the modal's inputs; one about no input goes under the first one."""
    blocks = _inputs(view)
    shown: dict[str, str] = {}
    for block, text in errors.items():
        target = block if block in blocks else (blocks[0] if blocks else block)
        shown[str(target)] = (shown.get(str(target), "") + " " + text).strip()[:2000]
    return Answer({"response_action": "errors", "errors": shown})


def _inputs(view: dict[str, Any]) -> list[str]:
    """The block ids of a view's inputs."""
    found = view.get("blocks")
    return [
        str(b.get("block_id"))
        for b in (found if isinstance(found, list) else [])
        if isinstance(b, dict) and b.get("type") == "input"
    ]


def _reason(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return exc.reason
    return str(exc)


def _user_id(payload: dict[str, Any]) -> str:
    user = payload.get("user")
    return str(user.get("id", "")) if isinstance(user, dict) else ""


def _channel_of(payload: dict[str, Any]) -> str | None:
    channel = payload.get("channel")
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    container = payload.get("container")
    if isinstance(container, dict) and container.get("channel_id"):
        return str(container["channel_id"])
    return None


def _message_of(payload: dict[str, Any]) -> tuple[str, str] | None:
    """The (channel, ts) of the message clicked on."""
    container = payload.get("container")
    if isinstance(container, dict) and container.get("channel_id") and container.get("message_ts"):
        return str(container["channel_id"]), str(container["message_ts"])
    return None


def _left(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "—"
    seconds = int((due - now).total_seconds())
    if seconds <= 0:
        return f"overdue since {due:%H:%M} UTC"
    return f"within {format_duration(timedelta(seconds=seconds))}"


def _one_line(incident: Any, now: datetime) -> str:
    clock = ""
    if incident.resolution_due_at:
        clock = f" · resolve {_left(incident.resolution_due_at, now)}"
    elif incident.triage_due_at and not incident.severity:
        clock = f" · triage {_left(incident.triage_due_at, now)}"
    return (
        f"*{incident.key}* {announce.mrkdwn(incident.title)} — {incident.status}, "
        f"{incident.severity or 'not triaged'}{clock}"
    )
