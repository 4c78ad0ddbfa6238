"""``escalator postmortem …``, ``escalator action …``, ``escalator review …`` and
``escalator report weekly``: the seed's POST MORTEM from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from escalator.api.postmortem import ItemOut as ItemJson
from escalator.api.postmortem import PostmortemOut, ReviewOut, due_at, render, review_out
from escalator.cli.common import AsJson, AsPerson, acting, err, fail, out, reading, services
from escalator.process.postmortem import actions, drafts, retrospective
from escalator.process.postmortem import review as reviews
from escalator.process.postmortem import view as pm_view

postmortem_app = typer.Typer(help="Write and review post-mortems.", no_args_is_help=True)
action_app = typer.Typer(help="Action items: add, list, done, won't do.", no_args_is_help=True)
review_app = typer.Typer(help="The weekly review.", no_args_is_help=True)


@postmortem_app.command("show")
def show(key: str, as_json: AsJson = False) -> None:
    """An incident's post-mortem, its action items and what it still lacks."""
    with reading(services()) as ctx:
        body = PostmortemOut.of(ctx, pm_view.view(ctx, key))
    if as_json:
        print(body.model_dump_json(indent=2, by_alias=True))
        return
    out.print(f"[bold]{body.incident}[/] post-mortem: {body.state}", highlight=False)
    for label, value in (
        ("root cause", body.root_cause_label or "—"),
        ("detected by", body.detected_by or "—"),
        ("service", body.service or "—"),
        ("trigger", body.trigger_change or body.change_events),
        ("factors", "; ".join(body.factors) or "—"),
        ("went well", body.went_well or "—"),
        ("didn't", body.went_badly or "—"),
    ):
        out.print(f"  {label}: {value}", highlight=False)
    if body.missing:
        out.print(f"  still to write: {', '.join(body.missing)}", highlight=False)
    _items([i for i in body.action_items])


def _items(items: list[ItemJson]) -> None:
    table = Table("#", "incident", "kind", "what", "owner", "due (UTC)", "state")
    for i in items:
        state = (
            i.state + (" (overdue)" if i.overdue else "") + (f": {i.reason}" if i.reason else "")
        )
        table.add_row(
            str(i.id), i.incident, i.kind, i.title, i.owner, f"{i.due_at:%Y-%m-%d %H:%M}", state
        )
    out.print(table)


@postmortem_app.command("write")
def write(
    key: str,
    person: AsPerson,
    root_cause: Annotated[str | None, typer.Option(help="An id of postmortem.root_causes")] = None,
    factor: Annotated[
        list[str] | None, typer.Option(help="A contributing factor (repeat for several)")
    ] = None,
    detected_by: Annotated[str | None, typer.Option(help="alarm or customer")] = None,
    service: Annotated[str | None, typer.Option()] = None,
    went_well: Annotated[str | None, typer.Option()] = None,
    went_badly: Annotated[str | None, typer.Option()] = None,
    trigger_change: Annotated[str | None, typer.Option(help="A change event's id")] = None,
) -> None:
    """Write (part of) a post-mortem: the options given replace what was there."""
    with acting(services(), person) as ctx:
        row = retrospective.update(
            ctx,
            key,
            root_cause=root_cause,
            factors=factor,
            detected_by=detected_by,
            service=service,
            went_well=went_well,
            went_badly=went_badly,
            trigger_change=trigger_change,
        )
        state = row.state
    out.print(f"{key} post-mortem saved ({state})", highlight=False)


@postmortem_app.command("reviewed")
def reviewed(key: str, person: AsPerson) -> None:
    """Mark a complete post-mortem reviewed (managers)."""
    with acting(services(), person) as ctx:
        retrospective.mark_reviewed(ctx, key)
    out.print(f"{key} post-mortem reviewed", highlight=False)


@postmortem_app.command("waive")
def waive(
    key: str, person: AsPerson, reason: Annotated[str, typer.Option(help="Why")] = ""
) -> None:
    """Let an incident close without a reviewed post-mortem (managers), saying why."""
    with acting(services(), person) as ctx:
        retrospective.waive(ctx, key, reason)
    out.print(f"{key} post-mortem waived", highlight=False)


@action_app.command("add")
def add(
    key: str,
    person: AsPerson,
    kind: Annotated[str, typer.Option(help="new_metric, alarm_threshold, playbook_entry, …")],
    title: Annotated[str, typer.Option(help="What is to be done")],
    owner: Annotated[str | None, typer.Option(help="Who does it")] = None,
    due: Annotated[str | None, typer.Option(help="2026-12-04, or a date and time")] = None,
    detail: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE: alarm=…, direction=up, from=…, to=…")
    ] = None,
    jira: Annotated[str | None, typer.Option(help="A JIRA key, like MCT-42")] = None,
) -> None:
    """Add an action item to an incident's post-mortem; prints its id as the last line."""
    details = {}
    for pair in detail or []:
        name, sep, value = pair.partition("=")
        if not sep:
            fail(f"--detail {pair!r}: write KEY=VALUE, like direction=up", 2)
        details[name.strip()] = value.strip()
    with acting(services(), person) as ctx:
        item = actions.add(
            ctx,
            key,
            kind=kind,
            title=title,
            owner=owner,
            due_at=due_at(ctx, due, owner),
            details=details,
            jira=jira,
        )
        item_id, when = item.id, item.due_at
    err.print(f"Action item #{item_id} added to {key}, due {when:%Y-%m-%d %H:%M} UTC")
    print(item_id)


@action_app.command("list")
def list_items(
    state: Annotated[str | None, typer.Option(help="open, done or wont_do")] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Open and past due")] = False,
    as_json: AsJson = False,
) -> None:
    """Action items, soonest due first."""
    with reading(services()) as ctx:
        found = actions.items(ctx, state=state, owner=owner, overdue=overdue)
        items = [ItemJson.of(v) for v in pm_view.item_views(ctx, found)]
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
        return
    _items(items)


def _state(item_id: int, person: str, state: str, reason: str = "") -> None:
    with acting(services(), person) as ctx:
        actions.set_state(ctx, item_id, state, reason=reason)
    out.print(f"action item #{item_id} {state.replace('_', ' ')}", highlight=False)


@action_app.command("done")
def done(item_id: int, person: AsPerson) -> None:
    """The item is done."""
    _state(item_id, person, "done")


@action_app.command("wont-do")
def wont_do(
    item_id: int, person: AsPerson, reason: Annotated[str, typer.Option(help="Why not")] = ""
) -> None:
    """The item won't be done, with the reason."""
    _state(item_id, person, "wont_do", reason)


@action_app.command("reopen")
def reopen(item_id: int, person: AsPerson) -> None:
    """Open the item again (and chase it again)."""
    _state(item_id, person, "open")


@action_app.command("draft")
def draft(
    item_id: int,
    person: AsPerson,
    entry_id: Annotated[str | None, typer.Option(help="The entry's id (file name)")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    alert: Annotated[list[str] | None, typer.Option(help="An alertname to match")] = None,
    service: Annotated[list[str] | None, typer.Option(help="A service to match")] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="A phrase to match")] = None,
    step: Annotated[list[str] | None, typer.Option(help="A step, in order")] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Check it and write it to the playbooks")
    ] = False,
) -> None:
    """Edit a playbook entry item's draft, show it, and optionally publish it."""
    svc = services()
    match = None
    if alert is not None or service is not None or keyword is not None:
        match = {"alerts": alert or [], "services": service or [], "keywords": keyword or []}
    with acting(svc, person) as ctx:
        row = drafts.update(ctx, item_id, entry_id=entry_id, title=title, match=match, steps=step)
        text = drafts.markdown(row)
    out.print(text, highlight=False, markup=False)
    if publish:
        with acting(svc, person) as ctx:
            path = drafts.publish(ctx, item_id).path
        err.print(f"Published {path}")
        print(path)


@review_app.command("show")
def review_show(
    review_id: Annotated[int | None, typer.Argument()] = None, as_json: AsJson = False
) -> None:
    """A weekly review's agenda (the latest by default)."""
    with reading(services()) as ctx:
        body: ReviewOut = review_out(ctx, reviews.get(ctx, review_id))
    if as_json:
        print(body.model_dump_json(indent=2))
        return
    out.print(f"[bold]Weekly review {body.week}[/] opened {body.opened_at:%Y-%m-%d %H:%M} UTC")
    table = Table("incident", "title", "status", "post-mortem", title="agenda")
    for i in body.incidents:
        table.add_row(i["key"], i["title"], i["status"], i["postmortem"])
    out.print(table)
    _items(body.action_items)


def weekly(
    week: Annotated[str | None, typer.Option(help="An ISO week, like 2026-W48")] = None,
    format: Annotated[str, typer.Option("--format", help="md, html, csv or json")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE")] = None,
) -> None:
    """The weekly report (this week by default): to stdout, or to --output FILE."""
    with reading(services()) as ctx:
        text, _ = render(ctx, week, format)
    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return
    output.write_text(text, "utf-8")
    err.print(f"Weekly report written to {output}")
    print(output)
