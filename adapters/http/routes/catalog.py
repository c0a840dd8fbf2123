"""HTTP for the SLA records: ``/api/v1/calendars`` and ``/api/v1/sla-policies`` (ADR 0014).

``PUT /{id}`` defines or redefines a record with its whole definition: ``201`` when created,
``200`` when changed or unchanged (an identical body records nothing and keeps the version),
``ETag: "<version>"``; ``If-Match`` with another version is a ``412``. ``GET /{id}?as_of=``
shows the version in force at that time. Ids are slugs (``^[a-z0-9][a-z0-9-]{0,62}$``): a bad
one is a ``400`` on PUT (the client chose it) and a ``404`` on GET (no such record).

Body shape errors (types, unknown fields) are ``400``; broken rules (a 25:00 time, an
unknown time zone, a bad duration, a policy on an unknown calendar) are ``422`` naming the
fields. ``china-5x8`` and ``default`` are recorded on the first use of these endpoints in a
process (``application.catalog.ensure_defaults``), so every store shows them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, put
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from msgspec import Meta, Struct

from adapters.calendars import holidays as holiday_data
from adapters.http.schemas import common as s
from adapters.http.openapi.contract import also_answers
from adapters.http.params import AsOf, NewSlug
from adapters.http import kit
from application import catalog as uc
from application.catalog import RecordNotFound
from application.commands.catalog import PutCalendar, PutPolicy
from domain.sla import (
    SLUG_RULE,
    CalendarDefinition,
    CalendarRecord,
    PolicyDefinition,
    SlaPolicy,
    valid_slug,
)

# ------------------------------------------------------------------ wire types

Clock = Annotated[str, Meta(max_length=8, pattern=s.LINE)]
Interval = Annotated[list[Clock], Meta(min_length=2, max_length=2)]
Day = Annotated[list[Interval], Meta(max_length=24)]
Dates = Annotated[list[date], Meta(max_length=2_000)]
Duration = Annotated[str, Meta(max_length=40, pattern=s.LINE)]
Key = Annotated[str, Meta(max_length=20, pattern=s.LINE)]  # a weekday, a priority


class CalendarIn(s.Input):
    name: s.Name
    working_hours: Annotated[dict[Key, Day], Meta(max_length=7)]
    timezone: Annotated[str, Meta(min_length=1, max_length=64, pattern=s.LINE)] = "Asia/Shanghai"
    base: Literal["china"] | None = None
    holidays: Dates = []
    workdays: Dates = []


class TargetIn(s.Input):
    response: Duration
    resolution: Duration


class EscalationIn(s.Input):
    manager: s.Name
    expert: s.Name


EventName = Annotated[str, Meta(min_length=1, max_length=60, pattern=s.LINE)]


class MilestoneIn(s.Input):
    """A milestone clock (ADR 0062): starts on one ticket event, stops on the first of
    others (class names), ``target`` an ISO 8601 duration around the clock (``24x7``, the
    default) or in working time on the ticket's calendar (``business``)."""

    name: Annotated[str, Meta(min_length=1, max_length=40, pattern=s.LINE)]
    starts_on: EventName
    stops_on: Annotated[list[EventName], Meta(min_length=1, max_length=10)]
    target: Duration
    calendar: Literal["business", "24x7"] = "24x7"


class PolicyIn(s.Input):
    name: s.Name
    calendar: s.Slug
    targets: Annotated[dict[Key, TargetIn], Meta(max_length=10)]
    escalation: EscalationIn
    warning_thresholds: Annotated[list[float], Meta(max_length=10)] = msgspec.field(
        default_factory=lambda: [0.75])
    milestones: Annotated[list[MilestoneIn], Meta(max_length=20)] = msgspec.field(
        default_factory=list)


class BaseData(Struct, frozen=True):
    """What the base schedule (``china``) contributes and how far the data reaches."""

    source: str
    first_year: int
    last_year: int
    missing_years: list[int]  # this year and next, when the package has no schedule for them
    note: str


class CalendarView(Struct, frozen=True):
    id: str
    name: str
    timezone: str
    base: str | None
    working_hours: dict[str, list[list[str]]]
    holidays: list[date]
    workdays: list[date]
    version: int
    recorded_at: datetime
    recorded_by: str
    created_at: datetime
    base_data: BaseData | None = None


class TargetView(Struct, frozen=True):
    response: str
    resolution: str


class MilestoneOut(Struct, frozen=True):
    name: str
    starts_on: str
    stops_on: list[str]
    target: str
    calendar: str


class PolicyView(Struct, frozen=True):
    id: str
    name: str
    calendar: str
    targets: dict[str, TargetView]
    warning_thresholds: list[float]
    escalation: dict[str, str]
    version: int
    recorded_at: datetime
    recorded_by: str
    created_at: datetime
    milestones: list[MilestoneOut] = []  # ADR 0062


class CalendarList(Struct, frozen=True):
    items: list[CalendarView]
    count: int


class PolicyList(Struct, frozen=True):
    items: list[PolicyView]
    count: int


def _base_data(base: str | None, now: datetime) -> BaseData | None:
    if base != "china":
        return None
    first, last = holiday_data.covered_years()
    wanted = (now.year, now.year + 1)
    missing = [y for y in wanted if not first <= y <= last]
    note = (
        f"China public holidays and make-up workdays from {holiday_data.SOURCE}, {first}-{last}"
        + (f"; no published schedule for {', '.join(map(str, missing))}: those years have only "
           "the weekly hours and this calendar's own days until the package is upgraded"
           if missing else "")
    )
    return BaseData(source=holiday_data.SOURCE, first_year=first, last_year=last,
                    missing_years=missing, note=note)


def calendar_view(record: CalendarRecord, now: datetime) -> CalendarView:
    d = record.definition
    return CalendarView(
        id=record.slug,
        name=d.name,
        timezone=d.timezone,
        base=d.base,
        working_hours={k: [list(p) for p in v] for k, v in d.working_hours.items()},
        holidays=list(d.holidays),
        workdays=list(d.workdays),
        version=record.version,
        recorded_at=record.modified_on.astimezone(UTC),
        recorded_by=record.defined_by,
        created_at=record.created_on.astimezone(UTC),
        base_data=_base_data(d.base, now),
    )


def policy_view(record: SlaPolicy) -> PolicyView:
    d = record.definition
    return PolicyView(
        id=record.slug,
        name=d.name,
        calendar=d.calendar,
        targets={p: TargetView(t.response.text, t.resolution.text) for p, t in d.targets.items()},
        warning_thresholds=list(d.warning_thresholds),
        escalation={"manager": d.escalation.manager, "expert": d.escalation.expert},
        version=record.version,
        recorded_at=record.modified_on.astimezone(UTC),
        recorded_by=record.defined_by,
        created_at=record.created_on.astimezone(UTC),
        milestones=[MilestoneOut(m.name, m.starts_on, list(m.stops_on), m.target.text,
                                 m.calendar) for m in d.milestones],
    )


# ------------------------------------------------------------------ helpers


def _slug_for_put(slug: str) -> str:
    if not valid_slug(slug):
        raise ValidationException(
            "bad id", extra=[{"key": "id", "message": f"not a valid id: {SLUG_RULE}"}])
    return slug


def _found(read: Any) -> Any:
    try:
        return read()
    except RecordNotFound as e:
        raise NotFoundException(str(e)) from None


# ------------------------------------------------------------------ calendars


@get(f"{kit.API}/calendars", summary="Every business calendar (current versions)", tags=["sla"])
@kit.threaded
def list_calendars(state: State) -> CalendarList:
    desk = kit.services_of(state).desk
    now = desk.clock.now()
    items = [calendar_view(r, now) for r in uc.list_calendars(desk)]
    return CalendarList(items=items, count=len(items))


@get(f"{kit.API}/calendars/{{slug:str}}", summary="A business calendar (optionally as of a time)",
     tags=["sla"])
@kit.threaded
def get_calendar(state: State, slug: str, as_of: AsOf = None) -> Response[CalendarView]:
    desk = kit.services_of(state).desk
    record = _found(lambda: uc.get_calendar(desk, slug, as_of=kit.parse_as_of(as_of)))
    return kit.versioned(calendar_view(record, desk.clock.now()), record.version)


@put(f"{kit.API}/calendars/{{slug:str}}", summary="Define or redefine a business calendar",
     tags=["sla"], status_code=200,
     responses=also_answers(201, "Defined: the calendar's first version", CalendarView))
@kit.threaded
def put_calendar(request: Request[Any, Any, Any], state: State, slug: NewSlug,
                 data: CalendarIn) -> Response[CalendarView]:
    _slug_for_put(slug)
    definition = CalendarDefinition.parse(
        name=data.name, timezone=data.timezone, base=data.base,
        working_hours=data.working_hours, holidays=data.holidays, workdays=data.workdays)
    return kit.put_definition(request, state, data, PutCalendar(slug=slug, definition=definition),
                              lambda record, desk: calendar_view(record, desk.clock.now()),
                              f"{kit.API}/calendars/{slug}")


# ------------------------------------------------------------------- policies


@get(f"{kit.API}/sla-policies", summary="Every SLA policy (current versions)", tags=["sla"])
@kit.threaded
def list_policies(state: State) -> PolicyList:
    items = [policy_view(r) for r in uc.list_policies(kit.services_of(state).desk)]
    return PolicyList(items=items, count=len(items))


@get(f"{kit.API}/sla-policies/{{slug:str}}", summary="An SLA policy (optionally as of a time)",
     tags=["sla"])
@kit.threaded
def get_policy(state: State, slug: str, as_of: AsOf = None) -> Response[PolicyView]:
    desk = kit.services_of(state).desk
    record = _found(lambda: uc.get_policy(desk, slug, as_of=kit.parse_as_of(as_of)))
    return kit.versioned(policy_view(record), record.version)


@put(f"{kit.API}/sla-policies/{{slug:str}}", summary="Define or redefine an SLA policy",
     tags=["sla"], status_code=200,
     responses=also_answers(201, "Defined: the policy's first version", PolicyView))
@kit.threaded
def put_policy(request: Request[Any, Any, Any], state: State, slug: NewSlug,
               data: PolicyIn) -> Response[PolicyView]:
    _slug_for_put(slug)
    definition = PolicyDefinition.parse(
        name=data.name, calendar=data.calendar,
        targets={p: {"response": t.response, "resolution": t.resolution}
                 for p, t in data.targets.items()},
        warning_thresholds=data.warning_thresholds,
        escalation={"manager": data.escalation.manager, "expert": data.escalation.expert},
        milestones=[{"name": m.name, "starts_on": m.starts_on, "stops_on": m.stops_on,
                     "target": m.target, "calendar": m.calendar} for m in data.milestones])
    return kit.put_definition(request, state, data, PutPolicy(slug=slug, definition=definition),
                              lambda record, desk: policy_view(record),
                              f"{kit.API}/sla-policies/{slug}")


HANDLERS = [list_calendars, get_calendar, put_calendar, list_policies, get_policy,
                    put_policy]
