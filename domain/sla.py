"""SLA records: versioned business calendars and SLA policies (DOMAIN.md §2, ADR 0014).

A calendar or policy is managed by a slug (``acme-5x8``) and kept as an aggregate whose id
derives from that slug, so two writers of the same slug meet on one stream and the store's
optimistic concurrency settles them. Every definition is an event carrying the *whole*
definition (``Defined`` first, then ``Redefined``), never a patch: the record's version is
the aggregate version, and any past version can be rebuilt exactly, which is what a ticket's
deadline will cite ("policy default v2 on calendar china-5x8 v1").

A definition that equals the current one records nothing (a PUT of the same body is a no-op).
Validation collects every broken rule into one ``InvalidCommand`` naming the fields.

``Catalog`` lists the slugs that exist (one aggregate with a fixed id, changed in the same
transaction as a record's creation), so listing is one read instead of a log scan.

Pure: standard library and ``eventsourcing.domain`` only; time and actor come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate

from domain.calendar import WEEKDAYS, BusinessCalendar, format_clock, parse_clock
from domain.checks import collapsed, refuse_fields
from domain.errors import FieldError, InvalidCommand
from domain.records import Directory, RecordEvent, VersionedRecord, directory

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SLUG_RULE = "1 to 63 characters: lower-case letters, digits and '-', not starting with '-'"
BASES = ("china",)
PRIORITIES = ("P1", "P2", "P3")
TARGET_KINDS = ("response", "resolution")
# Milestone clocks (OLA, ADR 0062): on the ticket's calendar or around the clock.
MILESTONE_CALENDARS = ("business", "24x7")
MILESTONE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
EVENT_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]{0,59}$")
MAX_MILESTONES = 20
MAX_STOPS = 10
MAX_DAYS_LISTED = 2_000
MAX_THRESHOLDS = 10
WORKING_DAY = "D"  # a ``PnD`` target counts whole working days (API.md), not 24 h


def valid_slug(slug: str) -> bool:
    return isinstance(slug, str) and SLUG_RE.match(slug) is not None


def check_slug(slug: str) -> None:
    """The 422 of an id that is not a slug (calendars, policies, catalogue services)."""
    if not valid_slug(slug):
        raise InvalidCommand.field("id", f"not a valid id: {SLUG_RULE}")


# ---------------------------------------------------------------------- durations

_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<d>\d+)D)?(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


@dataclass(frozen=True)
class WorkingDuration:
    """An ISO 8601 duration of working time: ``days`` whole working days, then ``seconds``.

    ``text`` is the duration as given (upper-cased); ``P3D`` is three whole working days
    (``BusinessCalendar.add_working_days``), ``PT24H`` is 24 working hours
    (``add_working``). ``P1DT2H`` is one working day and then two working hours.
    """

    text: str
    days: int
    seconds: int


def parse_duration(text: str, field: str = "duration") -> WorkingDuration:
    """``PnD``, ``PTnHnMnS`` or both; integers only; more than zero.

    Years, months and weeks are refused (their length in working time is not defined), and
    so are fractions and signs. Raises ``InvalidCommand`` naming ``field``.
    """
    raw = text.strip().upper() if isinstance(text, str) else ""
    m = _DURATION_RE.match(raw) if raw else None
    if m is None:
        raise InvalidCommand.field(
            field,
            f"not an ISO 8601 working-time duration: {text!r} "
            "(use PnD for whole working days and/or PTnHnMnS, e.g. PT4H, P3D, PT30M)",
        )
    days = int(m.group("d") or 0)
    seconds = int(m.group("h") or 0) * 3600 + int(m.group("m") or 0) * 60 + int(m.group("s") or 0)
    if days == 0 and seconds == 0:
        raise InvalidCommand.field(field, f"must be longer than zero: {text!r}")
    if days > 3_660 or seconds > 100 * 366 * 86_400:
        raise InvalidCommand.field(field, f"too long: {text!r}")
    return WorkingDuration(text=raw, days=days, seconds=seconds)


# ---------------------------------------------------------------------- calendars

Hours = dict[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class CalendarDefinition:
    """A calendar as defined by its owner, normalised (all seven weekdays, ``HH:MM`` times,
    sorted unique dates), so equal meaning gives equal values."""

    name: str
    timezone: str
    base: str | None
    working_hours: Hours
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]

    @classmethod
    def parse(
        cls,
        *,
        name: str,
        timezone: str,
        base: str | None,
        working_hours: Mapping[str, Iterable[Iterable[str]]],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> CalendarDefinition:
        errors: list[FieldError] = []
        if not collapsed(name):
            errors.append(FieldError("name", "must not be empty"))
        tz = timezone.strip() if isinstance(timezone, str) else ""
        try:
            if not tz:
                raise ValueError
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            errors.append(FieldError("timezone", f"unknown IANA time zone: {timezone!r}"))
        if base is not None and base not in BASES:
            errors.append(FieldError("base", f"must be one of {', '.join(BASES)} or null"))
        hours: Hours = {}
        if not isinstance(working_hours, Mapping):
            errors.append(FieldError("working_hours", "must be an object of weekdays"))
            working_hours = {}
        for key in working_hours:
            if key not in WEEKDAYS:
                errors.append(FieldError(
                    f"working_hours.{key}", f"unknown weekday; use {', '.join(WEEKDAYS)}"))
        for day in WEEKDAYS:
            spans: list[tuple[int, int]] = []
            for i, pair in enumerate(working_hours.get(day, ()) or ()):
                where = f"working_hours.{day}[{i}]"
                pair = tuple(pair) if not isinstance(pair, str) else ()
                if len(pair) != 2:
                    errors.append(FieldError(where, "a working interval is [start, end]"))
                    continue
                try:
                    start, end = parse_clock(pair[0]), parse_clock(pair[1])
                except ValueError as e:
                    errors.append(FieldError(where, str(e)))
                    continue
                if start >= 86_400:
                    errors.append(FieldError(where, "a start must be before 24:00"))
                elif end <= start:
                    errors.append(FieldError(where, f"end {pair[1]} must be after start {pair[0]}"))
                else:
                    spans.append((start, end))
            spans.sort()
            for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
                if s2 < e1:
                    errors.append(FieldError(
                        f"working_hours.{day}",
                        f"intervals {format_clock(s1)}-{format_clock(e1)} and "
                        f"{format_clock(s2)}-{format_clock(e2)} overlap"))
            hours[day] = tuple((format_clock(s), format_clock(e)) for s, e in spans)
        hol = _dates(holidays, "holidays", errors)
        work = _dates(workdays, "workdays", errors)
        both = sorted(set(hol) & set(work))
        if both:
            errors.append(FieldError(
                "workdays", "dates cannot be both holiday and workday: "
                + ", ".join(d.isoformat() for d in both)))
        refuse_fields(errors)
        return cls(name=collapsed(name), timezone=tz, base=base, working_hours=hours,
                   holidays=hol, workdays=work)

    def calendar(self, base_holidays: Iterable[date] = (),
                 base_workdays: Iterable[date] = ()) -> BusinessCalendar:
        """The arithmetic value object; ``base_*`` are the base schedule's days (for base
        ``china``, from the holiday-data adapter). The record's own days win over the base."""
        return BusinessCalendar.from_hours(
            {d: [list(p) for p in spans] for d, spans in self.working_hours.items()},
            timezone=self.timezone,
        ).with_days(holidays=base_holidays, workdays=base_workdays).with_days(
            holidays=self.holidays, workdays=self.workdays)

    def as_fields(self) -> dict[str, Any]:
        return dict(name=self.name, timezone=self.timezone, base=self.base,
                    working_hours=self.working_hours, holidays=self.holidays,
                    workdays=self.workdays)


def _dates(values: Iterable[date], field: str, errors: list[FieldError]) -> tuple[date, ...]:
    out: set[date] = set()
    for i, d in enumerate(values or ()):
        if not isinstance(d, date) or isinstance(d, datetime):
            errors.append(FieldError(f"{field}[{i}]", f"not a date: {d!r}"))
        else:
            out.add(d)
    if len(out) > MAX_DAYS_LISTED:
        errors.append(FieldError(field, f"at most {MAX_DAYS_LISTED} dates"))
    return tuple(sorted(out))


@lru_cache(maxsize=1024)  # read by every command's SLA update; uuid5 is a SHA-1 each time
def calendar_id(slug: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"opsledger:calendar:{slug}")


class CalendarRecord(VersionedRecord, Aggregate):
    """One business calendar; each version is a whole definition."""

    TOPIC = "opsledger.sla:CalendarRecord"
    check_slug = staticmethod(check_slug)

    class Event(RecordEvent):
        TOPIC = "opsledger.sla:CalendarRecord.Event"

    class Defined(Aggregate.Created):
        TOPIC = "opsledger.sla:CalendarRecord.Defined"
        slug: str
        name: str
        timezone: str
        base: str | None
        working_hours: Hours
        holidays: tuple[date, ...]
        workdays: tuple[date, ...]
        actor: str

    class Redefined(Event):
        TOPIC = "opsledger.sla:CalendarRecord.Redefined"
        name: str
        timezone: str
        base: str | None
        working_hours: Hours
        holidays: tuple[date, ...]
        workdays: tuple[date, ...]

        def apply(self, record: CalendarRecord) -> None:
            record._set(self.name, self.timezone, self.base, self.working_hours,
                        self.holidays, self.workdays, self.actor)

    def __init__(self, slug: str, name: str, timezone: str, base: str | None,
                 working_hours: Hours, holidays: tuple[date, ...],
                 workdays: tuple[date, ...], actor: str) -> None:
        self.slug = slug
        self._set(name, timezone, base, working_hours, holidays, workdays, actor)

    def _set(self, name: str, timezone: str, base: str | None, working_hours: Hours,
             holidays: tuple[date, ...], workdays: tuple[date, ...], actor: str) -> None:
        # Only assigns (a replay runs this again); the values are immutable.
        self.definition = CalendarDefinition(
            name=name, timezone=timezone, base=base, working_hours=dict(working_hours),
            holidays=tuple(holidays), workdays=tuple(workdays))
        self.defined_by = actor

    @staticmethod
    def id_for(slug: str) -> UUID:
        return calendar_id(slug)



# ---------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Target:
    response: WorkingDuration
    resolution: WorkingDuration


@dataclass(frozen=True)
class Escalation:
    manager: str
    expert: str


@dataclass(frozen=True)
class Milestone:
    """A named internal clock (OLA, ADR 0062): it starts when the ticket records an event of
    class ``starts_on`` and stops at the first later event whose class is in ``stops_on``
    (class names: ``Registered``, ``Assigned``, ``VisitArrived`` …); ``target`` of plain
    time (``24x7``, when no calendar is named) or of working time on the ticket's calendar
    (``business``)."""

    name: str
    starts_on: str
    stops_on: tuple[str, ...]
    target: WorkingDuration
    calendar: str = "24x7"


def parse_milestones(given: Any) -> tuple[tuple[Milestone, ...], list[FieldError]]:
    """The ``milestones`` of a policy body: names unique, events named by class name, a
    milestone never stopped by its own start event. Returns the milestones and the errors."""
    errors: list[FieldError] = []
    out: list[Milestone] = []
    if given is None:
        return (), errors
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        return (), [FieldError("milestones", "a list of {name, starts_on, stops_on, target}")]
    items = list(given)
    if len(items) > MAX_MILESTONES:
        errors.append(FieldError("milestones", f"at most {MAX_MILESTONES}"))
    seen: set[str] = set()
    for i, m in enumerate(items[:MAX_MILESTONES]):
        where = f"milestones[{i}]"
        if not isinstance(m, Mapping):
            errors.append(FieldError(where, "an object {name, starts_on, stops_on, target}"))
            continue
        for key in m:
            if key not in ("name", "starts_on", "stops_on", "target", "calendar"):
                errors.append(FieldError(f"{where}.{key}", "unknown; use name, starts_on, "
                                         "stops_on, target, calendar"))
        name = m.get("name")
        if not isinstance(name, str) or not MILESTONE_NAME_RE.match(name):
            errors.append(FieldError(f"{where}.name", "1 to 40 characters: lower-case letters, "
                                     "digits and '_', starting with a letter"))
        elif name in seen:
            errors.append(FieldError(f"{where}.name", f"milestone {name!r} is named twice"))
        else:
            seen.add(name)
        start = m.get("starts_on")
        if not isinstance(start, str) or not EVENT_NAME_RE.match(start):
            errors.append(FieldError(f"{where}.starts_on",
                                     "a ticket event's class name, e.g. Registered"))
        stops_given = m.get("stops_on")
        if isinstance(stops_given, str):
            stops_given = [stops_given]
        stops: list[str] = []
        if not isinstance(stops_given, Iterable) or not stops_given:
            errors.append(FieldError(f"{where}.stops_on",
                                     "required: a list of ticket event class names"))
        else:
            for j, e in enumerate(list(stops_given)[:MAX_STOPS + 1]):
                if not isinstance(e, str) or not EVENT_NAME_RE.match(e):
                    errors.append(FieldError(f"{where}.stops_on[{j}]",
                                             "a ticket event's class name, e.g. Assigned"))
                elif e == start:
                    errors.append(FieldError(f"{where}.stops_on[{j}]",
                                             "a milestone cannot stop on its start event"))
                elif e not in stops:
                    stops.append(e)
            if len(stops) > MAX_STOPS:
                errors.append(FieldError(f"{where}.stops_on", f"at most {MAX_STOPS} events"))
        calendar = m.get("calendar", "24x7")
        if calendar not in MILESTONE_CALENDARS:
            errors.append(FieldError(f"{where}.calendar",
                                     f"one of {', '.join(MILESTONE_CALENDARS)}"))
        try:
            target = parse_duration(m.get("target"), f"{where}.target")  # type: ignore[arg-type]
        except InvalidCommand as e:
            errors.extend(e.errors)
            continue
        if not errors:
            out.append(Milestone(name=name, starts_on=start, stops_on=tuple(stops),
                                 target=target, calendar=calendar))
    return tuple(out), errors


@dataclass(frozen=True)
class PolicyDefinition:
    name: str
    calendar: str
    targets: dict[str, Target]
    warning_thresholds: tuple[float, ...]
    escalation: Escalation
    milestones: tuple[Milestone, ...] = ()  # ADR 0062; none in versions before it

    @classmethod
    def parse(
        cls,
        *,
        name: str,
        calendar: str,
        targets: Mapping[str, Mapping[str, str]],
        warning_thresholds: Iterable[float],
        escalation: Mapping[str, str],
        milestones: Any = (),
    ) -> PolicyDefinition:
        errors: list[FieldError] = []
        if not collapsed(name):
            errors.append(FieldError("name", "must not be empty"))
        if not valid_slug(calendar):
            errors.append(FieldError("calendar", f"not a calendar id: {SLUG_RULE}"))
        parsed: dict[str, Target] = {}
        targets = targets if isinstance(targets, Mapping) else {}
        for key in targets:
            if key not in PRIORITIES:
                errors.append(FieldError(
                    f"targets.{key}", f"unknown priority; use {', '.join(PRIORITIES)}"))
        for p in PRIORITIES:
            given = targets.get(p)
            if not isinstance(given, Mapping):
                errors.append(FieldError(f"targets.{p}", "required: {response, resolution}"))
                continue
            for key in given:
                if key not in TARGET_KINDS:
                    errors.append(FieldError(
                        f"targets.{p}.{key}", "unknown target; use response, resolution"))
            durations: dict[str, WorkingDuration] = {}
            for kind in TARGET_KINDS:
                field = f"targets.{p}.{kind}"
                if kind not in given:
                    errors.append(FieldError(field, "required (an ISO 8601 duration)"))
                    continue
                try:
                    durations[kind] = parse_duration(given[kind], field)
                except InvalidCommand as e:
                    errors.extend(e.errors)
            if len(durations) == 2:
                parsed[p] = Target(**durations)
        thresholds: list[float] = []
        for i, x in enumerate(warning_thresholds or ()):
            if isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x < 1:
                errors.append(FieldError(
                    f"warning_thresholds[{i}]",
                    f"a threshold is a fraction of the target between 0 and 1 (exclusive), "
                    f"e.g. 0.75; got {x!r}"))
            else:
                thresholds.append(float(x))
        if len(thresholds) > MAX_THRESHOLDS:
            errors.append(FieldError("warning_thresholds", f"at most {MAX_THRESHOLDS}"))
        escalation = escalation if isinstance(escalation, Mapping) else {}
        for key in escalation:
            if key not in ("manager", "expert"):
                errors.append(FieldError(f"escalation.{key}", "unknown; use manager, expert"))
        for key in ("manager", "expert"):
            if not collapsed(escalation.get(key)):
                errors.append(FieldError(f"escalation.{key}", "required: who is notified"))
        parsed_milestones, milestone_errors = parse_milestones(milestones)
        errors.extend(milestone_errors)
        refuse_fields(errors)
        return cls(name=collapsed(name), calendar=calendar, targets=parsed,
                   warning_thresholds=tuple(sorted(set(thresholds))),
                   escalation=Escalation(collapsed(escalation["manager"]),
                                         collapsed(escalation["expert"])),
                   milestones=parsed_milestones)

    def as_fields(self) -> dict[str, Any]:
        return dict(name=self.name, calendar=self.calendar, targets=self.targets,
                    warning_thresholds=self.warning_thresholds, escalation=self.escalation,
                    milestones=self.milestones)


@lru_cache(maxsize=1024)  # read by every command's SLA update; uuid5 is a SHA-1 each time
def policy_id(slug: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"opsledger:sla-policy:{slug}")


class SlaPolicy(VersionedRecord, Aggregate):
    """One SLA policy; each version is a whole definition."""

    TOPIC = "opsledger.sla:SlaPolicy"
    check_slug = staticmethod(check_slug)

    class Event(RecordEvent):
        TOPIC = "opsledger.sla:SlaPolicy.Event"

    class Defined(Aggregate.Created):
        TOPIC = "opsledger.sla:SlaPolicy.Defined"
        slug: str
        name: str
        calendar: str
        targets: dict[str, Target]
        warning_thresholds: tuple[float, ...]
        escalation: Escalation
        actor: str
        # Milestone clocks (ADR 0062): absent from versions recorded before them.
        milestones: tuple[Milestone, ...] = ()

    class Redefined(Event):
        TOPIC = "opsledger.sla:SlaPolicy.Redefined"
        name: str
        calendar: str
        targets: dict[str, Target]
        warning_thresholds: tuple[float, ...]
        escalation: Escalation
        milestones: tuple[Milestone, ...] = ()  # ADR 0062

        def apply(self, policy: SlaPolicy) -> None:
            policy._set(self.name, self.calendar, self.targets, self.warning_thresholds,
                        self.escalation, self.actor, self.milestones)

    def __init__(self, slug: str, name: str, calendar: str, targets: dict[str, Target],
                 warning_thresholds: tuple[float, ...], escalation: Escalation,
                 actor: str, milestones: tuple[Milestone, ...] = ()) -> None:
        self.slug = slug
        self._set(name, calendar, targets, warning_thresholds, escalation, actor, milestones)

    def _set(self, name: str, calendar: str, targets: dict[str, Target],
             warning_thresholds: tuple[float, ...], escalation: Escalation, actor: str,
             milestones: tuple[Milestone, ...] = ()) -> None:
        self.definition = PolicyDefinition(
            name=name, calendar=calendar, targets=dict(targets),
            warning_thresholds=tuple(warning_thresholds), escalation=escalation,
            milestones=tuple(milestones))
        self.defined_by = actor

    @staticmethod
    def id_for(slug: str) -> UUID:
        return policy_id(slug)



# ---------------------------------------------------------------------- catalog


class _CalendarsAndPolicies(Directory):
    def __init__(self) -> None:
        self.calendars: tuple[str, ...] = ()
        self.policies: tuple[str, ...] = ()

    def add(self, kind: str, slug: str, at: datetime) -> None:  # type: ignore[override]
        if kind not in ("calendar", "policy"):
            raise ValueError(kind)
        if slug in (self.calendars if kind == "calendar" else self.policies):
            return
        self.trigger_event(self.Listed, timestamp=at, kind=kind, slug=slug)  # type: ignore

    def listed(self, event: Any) -> None:
        if event.kind == "calendar":
            self.calendars = (*self.calendars, event.slug)
        else:
            self.policies = (*self.policies, event.slug)


Catalog = directory(
    "opsledger.sla:Catalog", "opsledger:sla-catalog",
    fields=("kind", "slug"),  # kind: "calendar" | "policy"
    behaviour=_CalendarsAndPolicies, module=__name__,
    doc="""The slugs of every calendar and policy, in order of creation (for listing).""")
