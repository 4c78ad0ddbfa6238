"""iCalendar feeds of rotations and people, for calendar apps to subscribe to."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event

from escalator.domain import roster
from escalator.process.core import people, signing
from escalator.process.core.context import Ctx, Links
from escalator.process.core.errors import NotFound


def feed_url(links: Links, kind: str, name: str) -> str:
    """The private link to a rotation's or a person's feed."""
    token = signing.feed_token(links.key, kind, name)
    return links.url(f"/calendar/{kind}/{name}.ics?token={token}")


BEFORE, AHEAD = timedelta(days=14), timedelta(days=90)


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Escalator//on-call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    return cal


def _event(ctx: Ctx, rotation: str, shift: roster.Shift) -> Event:
    person = ctx.process.person(shift.person or "")
    name = person.name if person else (shift.person or "nobody")
    event = Event()
    event.add("uid", f"{rotation}-{shift.start:%Y%m%dT%H%M%SZ}-{shift.person}@escalator")
    event.add("dtstamp", ctx.now)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    event.add("summary", f"{rotation}: {name}")
    if shift.source != "rotation":
        event.add("description", f"{name} holds {rotation} by {shift.source}")
    return event


def _shifts(ctx: Ctx, rotation: str) -> list[roster.Shift]:
    days = (BEFORE + AHEAD).days
    return people.schedule(ctx, rotation, ctx.now - BEFORE, days)


def rotation_feed(ctx: Ctx, rotation: str) -> bytes:
    if rotation not in ctx.process.spec.rotations:
        raise NotFound(f"no rotation {rotation!r}")
    cal = _calendar(f"Escalator: {rotation}")
    for shift in _shifts(ctx, rotation):
        cal.add_component(_event(ctx, rotation, shift))
    return cal.to_ical()


def person_feed(ctx: Ctx, person: str) -> bytes:
    contact = ctx.process.person(person)
    if contact is None:
        raise NotFound(f"no person {person!r}")
    cal = _calendar(f"Escalator: {contact.name} on call")
    for rotation in ctx.process.spec.rotations:
        for shift in _shifts(ctx, rotation):
            if shift.person == person:
                cal.add_component(_event(ctx, rotation, shift))
    return cal.to_ical()
