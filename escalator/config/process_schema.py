"""The process file's schema: people, roles, rotations, clocks, severity and escalation.

Structure is checked by pydantic; references between sections (a holder who is not a
person, a role nobody holds) by :func:`cross_check`, which works on the raw mapping so
that it can report alongside structural mistakes instead of after them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from escalator.domain import cadence, roster
from escalator.domain.durations import format_duration, parse_duration
from escalator.domain.roles import ROLES

Path = tuple[str | int, ...]

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
MAX_SHIFT = timedelta(weeks=52)
Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
UserImpact = Literal["blocked", "losing_money", "degraded", "nice_to_have"]
BusinessImpact = Literal["losing_money", "losing_customer", "none"]


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value if isinstance(value, str) else repr(value))


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\s*([0-9]+[wdhmsWDHMS])+\s*$", "examples": ["30m", "1w"]}
    ),
]

_TIME_OF_DAY = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


def _time_of_day(value: Any) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    found = _TIME_OF_DAY.match(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not a time of day: write HH:MM or HH:MM:SS, like 09:00")
    return time(int(found[1]), int(found[2]), int(found[3] or 0))


def _format_time_of_day(value: time) -> str:
    return f"{value:%H:%M}" if not value.second else f"{value:%H:%M:%S}"


# a wall-clock time in the rotation's timezone; JSON Schema's format "time" would demand an
# offset (RFC 3339), which a wall-clock hand-off does not have
TimeOfDay = Annotated[
    time,
    PlainValidator(_time_of_day),
    PlainSerializer(_format_time_of_day, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": _TIME_OF_DAY.pattern, "examples": ["09:00", "17:30:00"]}
    ),
]


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise ValueError(
            f"unknown timezone {value!r}: write an IANA name like UTC, Asia/Kolkata"
        ) from exc
    return str(value)


TimeZone = Annotated[str, BeforeValidator(_timezone)]
PersonId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Link(Strict):
    title: str
    url: str


class Person(Strict):
    name: str
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    slack: Annotated[str | None, Field(pattern=r"^[UW][A-Z0-9]{2,}$")] = None
    phone: str | None = None
    timezone: TimeZone = "UTC"
    # the Events API v2 key of a PagerDuty service that pages this person alone; without
    # one, pages go to the incident's service key (or the default) naming the person
    pagerduty_routing_key: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9]{32}$")] = None


class Role(Strict):
    description: str = ""
    holders: list[PersonId] = []
    rotation: str | None = None


class Rotation(Strict):
    members: list[PersonId]
    shift: Duration = timedelta(weeks=1)
    start: Annotated[date, Field(ge=date(1970, 1, 1), le=date(2199, 12, 31))] = date(2026, 1, 5)
    handoff: TimeOfDay = time(9, 0)
    timezone: TimeZone = "UTC"
    filled_by: Literal["engineering_manager"] = "engineering_manager"

    @field_validator("shift")
    @classmethod
    def _at_most_a_year(cls, shift: timedelta) -> timedelta:
        if shift > MAX_SHIFT:
            raise ValueError(f"a shift of {format_duration(shift)} is longer than a year (52w)")
        return shift

    def roster(self) -> roster.Rotation:
        anchor = datetime.combine(self.start, self.handoff)
        return roster.Rotation(tuple(self.members), self.shift, anchor, self.timezone)


class Clocks(Strict):
    triage: Duration = timedelta(minutes=30)
    triage_warning: Duration = timedelta(minutes=10)
    low_severity_resolution: Duration = timedelta(days=1)
    high_severity_resolution: Duration = timedelta(hours=4)
    resolution_warning: Duration = timedelta(hours=1)  # before either resolution deadline
    on_call_ack: Duration = timedelta(minutes=15)
    on_call_escalate_after: Duration = timedelta(hours=1)
    # the Support Manager decides how a severe incident escalates within this
    manager_decision: Duration = timedelta(minutes=15)


class Conditions(Strict):
    users_affected_at_least: int | None = Field(default=None, ge=0)
    account_tier: list[str] | None = None
    user_impact: list[UserImpact] | None = None
    business_impact: list[BusinessImpact] | None = None
    stakeholder_priority: list[Severity] | None = None


class SeverityRule(Strict):
    severity: Severity
    when: Conditions
    reason: str = ""


class SeverityPolicy(Strict):
    default: Severity = "SEV4"
    rules: list[SeverityRule] = []


def _page_step(value: Any) -> str:
    role, _, modifier = str(value).partition(".")
    if role not in ROLES or modifier not in ("", "backup"):
        raise ValueError(
            f"page step {value!r} must be a role ({', '.join(ROLES)}), "
            "optionally followed by .backup for a rotation's next person"
        )
    return str(value)


PageStep = Annotated[str, BeforeValidator(_page_step)]


class Escalation(Strict):
    threshold: Severity = "SEV2"
    high_severity: list[Severity] = ["SEV1", "SEV2"]
    low_severity_to: Literal["engineering_manager"] = "engineering_manager"
    high_severity_to: Literal["on_call_engineer"] = "on_call_engineer"
    # who is paged in turn until someone acknowledges; ROLE.backup is the rotation's next
    # person (or whoever the on-call person covers for)
    page_order: Annotated[list[PageStep], Field(min_length=1)] = [
        "on_call_engineer",
        "on_call_engineer.backup",
        "engineering_manager",
    ]
    on_call_escalates_to: Annotated[list[PageStep], Field(min_length=1)] = [
        "sme",
        "engineering_manager",
    ]


def _wall_clock(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        hours, minutes = divmod(value, 60)
        written = f"{hours:02d}:{minutes:02d}"
        raise ValueError(
            f"{value!r} is not a time of day: YAML reads an unquoted {written} as the number "
            f'{value}, so write the time in quotes, like "{written}"'
        )
    return value


WallClock = Annotated[time, BeforeValidator(_wall_clock)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WorkingHours(Strict):
    """When a customer's update clock runs: from start to end on these days, local time."""

    timezone: TimeZone = "UTC"
    days: Annotated[list[Day], Field(min_length=1)] = ["mon", "tue", "wed", "thu", "fri"]
    start: WallClock = time(9, 0)
    end: WallClock = time(17, 0)

    @model_validator(mode="after")
    def _ends_after_start(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(
                f"working hours end at {self.end:%H:%M}, not after they start at "
                f"{self.start:%H:%M}: make end later than start (overnight hours are not "
                "supported)"
            )
        return self

    def rule(self) -> cadence.WorkingHours:
        return cadence.WorkingHours(
            self.timezone,
            frozenset(cadence.DAYS.index(d) for d in self.days),
            self.start,
            self.end,
        )


class Communication(Strict):
    by_role: Literal["second_tier"] = "second_tier"
    # an affected customer is owed an update this long after the last one, by severity
    cadence: dict[Severity, Duration] = {
        "SEV1": timedelta(hours=1),
        "SEV2": timedelta(hours=2),
        "SEV3": timedelta(hours=4),
        "SEV4": timedelta(days=1),
    }
    # a customer-reported incident that triage has not given a severity yet
    untriaged: Duration = timedelta(hours=1)
    reminder_before: Duration = timedelta(minutes=10)  # second tier is reminded this early
    # when set, the clock runs only in these hours (an account's own hours come first)
    working_hours: WorkingHours | None = None
    # update templates, relative to the process file; default ./templates if it exists,
    # and the packaged ones for whatever it does not hold
    templates: str | None = None

    @field_validator("cadence")
    @classmethod
    def _every_severity(cls, value: dict[str, timedelta]) -> dict[str, timedelta]:
        missing = [s for s in SEVERITIES if s not in value]
        if missing:
            raise ValueError(
                f"no cadence for {', '.join(missing)}: give every severity one, like "
                "{SEV1: 1h, SEV2: 2h, SEV3: 4h, SEV4: 1d}"
            )
        return value


class AccountContact(Strict):
    """Someone at a customer account who is told about its incidents."""

    name: str = ""
    email: Annotated[str | None, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = None
    phone: str | None = None

    @model_validator(mode="after")
    def _has_a_channel(self) -> AccountContact:
        if not self.email and not self.phone:
            raise ValueError(
                f"contact {self.name or '(unnamed)'} has no channel: give an email or a phone"
            )
        return self


class Account(Strict):
    name: str
    tier: str = "standard"
    domains: list[str] = []
    forum_users: list[str] = []
    contacts: list[AccountContact] = []  # told about every incident of the account
    working_hours: WorkingHours | None = None  # the account's own, for its update clock


class Service(Strict):
    pagerduty_routing_key: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9]{32}$")] = None
    slack_channel: str | None = None


def _per_second(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e9:
        return float(value)
    raise ValueError(
        f"per_second {value!r} is not a rate: write how many posts a second an integration "
        "may make on average, a number above 0 like 50 or 0.5"
    )


def _burst(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 10**9:
        return value
    raise ValueError(
        f"burst {value!r} is not a burst: write how many posts an integration may make at "
        "once, a whole number of at least 1 like 200"
    )


class RateLimit(Strict):
    per_second: Annotated[float, BeforeValidator(_per_second)] = 50.0
    burst: Annotated[int, BeforeValidator(_burst)] = 200


class IntakeRateLimit(RateLimit):
    # by integration name: sources allowed more (or less) than the rate above
    integrations: dict[str, RateLimit] = {}

    def for_integration(self, name: str) -> RateLimit:
        """The limit for the integration called ``name``; what its override leaves out is
        the general limit's."""
        override = self.integrations.get(name)
        given = override.model_dump(include=override.model_fields_set) if override else {}
        return RateLimit(
            per_second=given.get("per_second", self.per_second),
            burst=given.get("burst", self.burst),
        )


class Intake(Strict):
    group_by: list[str] = ["alertname", "service"]
    rate_limit: IntakeRateLimit = IntakeRateLimit()


class Playbooks(Strict):
    # relative to the process file; when not given, ./playbooks is read if it exists
    directory: str | None = None


class SlackChannels(Strict):
    alerts: str = "#alerts"
    support: str = "#support"


def _role(value: Any) -> str:
    if value not in ROLES:
        raise ValueError(f"{value!r} is not a role: roles are {', '.join(ROLES)}")
    return str(value)


RoleName = Annotated[str, BeforeValidator(_role)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
LocalTime = time  # a field below is called "time"


class Review(Strict):
    """The weekly review: when it opens (local wall-clock time) and who is told."""

    weekday: Weekday = "friday"
    time: LocalTime = LocalTime(15, 0)
    timezone: TimeZone = "UTC"
    participants: Annotated[list[RoleName], Field(min_length=1)] = [
        "support_manager",
        "engineering_manager",
        "first_tier",
        "second_tier",
        "engineering_council",
    ]


class Reminders(Strict):
    """Action item owners are reminded ``before`` the due date, at it, and every
    ``overdue_every`` after it until the item is done (after the incident closed, too)."""

    before: Duration = timedelta(days=1)
    overdue_every: Duration = timedelta(days=1)


RootCauseId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]


class Postmortem(Strict):
    # the taxonomy of root causes: id -> what the review calls it
    root_causes: Annotated[dict[RootCauseId, str], Field(min_length=1)] = {
        "new_release": "A new release",
        "load": "Load on the system",
        "unexpected_maintenance": "Unexpected maintenance",
        "config_change": "A configuration change",
        "dependency_failure": "A dependency or provider failure",
        "capacity": "Capacity",
        "hardware": "Hardware",
        "unknown": "Unknown",
    }
    review: Review = Review()
    reminders: Reminders = Reminders()
    # a customer report with no alarm on its service within this long before it is a
    # detection gap in the weekly report
    detection_window: Duration = timedelta(hours=1)


DecisionKind = Literal[
    "gather_info", "allocate_short_term", "allocate_long_term", "rollback_flag", "rollback_release"
]


class CouncilClocks(Strict):
    """How long the council has to decide once an incident is brought to it, by severity
    (high: the escalation section's high_severity; low: the rest, or not triaged)."""

    high: Duration = timedelta(hours=2)
    low: Duration = timedelta(days=1)
    warning: Duration = timedelta(minutes=30)  # the managers are warned this long before


class ChangesWindow(Strict):
    # "changed before this opened": changes this long before the incident opened
    window: Duration = timedelta(hours=2)


class Council(Strict):
    """REMEDIATE: the Engineering Council decides how an incident is remediated."""

    # who decides; default: the holders of the engineering_council role
    members: list[PersonId] | None = None
    clocks: CouncilClocks = CouncilClocks()
    # an allocation "for the next day" is due at end_of_day of the next working day
    timezone: TimeZone = "UTC"
    working_days: Annotated[list[Day], Field(min_length=1)] = ["mon", "tue", "wed", "thu", "fri"]
    end_of_day: WallClock = time(17, 0)
    # approvals by further members before a decision of that kind acts
    approvals: dict[DecisionKind, Annotated[int, Field(ge=0, le=10)]] = {
        "rollback_flag": 2,
        "rollback_release": 2,
    }
    # after a rollback, the alarm must resolve within this long or the council hears it did not
    verify_within: Duration = timedelta(minutes=30)
    # a gather_info request is due this long after it was made unless it says otherwise
    info_due: Duration = timedelta(hours=4)
    changes: ChangesWindow = ChangesWindow()
    # allocate_long_term with JIRA: the engineering ticket goes to this project, whose
    # (first scrum) board holds the sprints
    engineering_project: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = "ENG"


class RollbackWebhook(Strict):
    # the team's deployment system; the body is signed with ESCALATOR_ROLLBACK_WEBHOOK_SECRET
    url: Annotated[str, Field(pattern=r"^https?://")]


class Rollback(Strict):
    webhook: RollbackWebhook | None = None


class ProcessFile(Strict):
    version: Literal[1]
    name: str
    company: str = ""
    links: list[Link] = []
    people: dict[PersonId, Person]
    roles: dict[str, Role]
    rotations: dict[str, Rotation] = {}
    clocks: Clocks = Clocks()
    severity: SeverityPolicy = SeverityPolicy()
    escalation: Escalation = Escalation()
    communication: Communication = Communication()
    accounts: dict[str, Account] = {}
    services: dict[str, Service] = {}
    intake: Intake = Intake()
    slack: SlackChannels = SlackChannels()
    playbooks: Playbooks = Playbooks()
    postmortem: Postmortem = Postmortem()
    council: Council = Council()
    rollback: Rollback = Rollback()


def cross_check(raw: Any) -> list[tuple[Path, str]]:
    """Mistakes between sections, found on the raw mapping (tolerating structural ones)."""
    if not isinstance(raw, dict):
        return []
    problems: list[tuple[Path, str]] = []
    people = raw.get("people")
    known = set(people) if isinstance(people, dict) else set()
    rotations = raw.get("rotations") if isinstance(raw.get("rotations"), dict) else {}
    assert isinstance(rotations, dict)

    def person_ref(path: Path, value: Any) -> None:
        if isinstance(value, str) and re.match(r"^[a-z]", value) and value not in known:
            hint = ", ".join(sorted(known)) or "none defined"
            problems.append(
                (path, f"{value!r} is not a person: define it under people (known: {hint})")
            )

    roles = raw.get("roles")
    if isinstance(roles, dict):
        for name in ROLES:
            if name not in roles:
                problems.append(
                    (("roles",), f"role {name} is missing: add it with holders or a rotation")
                )
        for name, spec in roles.items():
            if name not in ROLES:
                problems.append(
                    (("roles", name), f"unknown role {name!r}: roles are " + ", ".join(ROLES))
                )
                continue
            if not isinstance(spec, dict):
                continue
            holders = spec.get("holders") or []
            rotation = spec.get("rotation")
            if isinstance(holders, list):
                for i, who in enumerate(holders):
                    person_ref(("roles", name, "holders", i), who)
            if holders and rotation:
                problems.append(
                    (("roles", name), f"role {name} has both holders and a rotation: keep one")
                )
            elif not holders and not rotation:
                problems.append(
                    (
                        ("roles", name),
                        f"nobody holds role {name}: list holders (people) or name a rotation",
                    )
                )
            elif rotation and rotation not in rotations:
                problems.append(
                    (
                        ("roles", name, "rotation"),
                        f"rotation {rotation!r} is not defined: add it under rotations",
                    )
                )
    escalation = raw.get("escalation")
    if isinstance(escalation, dict) and isinstance(roles, dict):
        for section in ("page_order", "on_call_escalates_to"):
            steps = escalation.get(section)
            for i, step in enumerate(steps if isinstance(steps, list) else []):
                role, _, modifier = str(step).partition(".")
                spec = roles.get(role)
                if modifier and isinstance(spec, dict) and not spec.get("rotation"):
                    problems.append(
                        (
                            ("escalation", section, i),
                            f"{step}: role {role} has no rotation, so it has no backup",
                        )
                    )
    council = raw.get("council")
    if isinstance(council, dict) and isinstance(council.get("members"), list):
        for i, who in enumerate(council["members"]):
            person_ref(("council", "members", i), who)
    for rname, rot in rotations.items():
        if not isinstance(rot, dict):
            continue
        members = rot.get("members")
        if isinstance(members, list):
            if not members:
                problems.append(
                    (("rotations", rname, "members"), "a rotation needs at least one member")
                )
            for i, who in enumerate(members):
                person_ref(("rotations", rname, "members", i), who)
    return problems
