"""SLA record commands (ADR 0014): define or redefine a business calendar or an SLA policy,
keyed by slug; fields as ``PUT /api/v1/calendars/{slug}`` and ``PUT /api/v1/sla-policies/{slug}``
name them (``adapters/http/catalog``: the body is parsed into the ``definition``).

A PUT is "create or redefine": the record's id derives from its slug, so two creators of one
slug race on the same stream; the loser's save conflicts, the handler reloads and it
redefines (or finds the same definition and records nothing). A creation also lists the slug
in the ``Catalog`` in the same save. The defaults (``china-5x8``, ``default``) are recorded
by these commands on the first use of the records in a process (``with_defaults``: before
the first put, ``prepare``, and by the reads of ``application.catalog``).
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.commands.base import NOTHING, Command, command
from domain.errors import InvalidCommand
from domain.sla import CalendarDefinition, CalendarRecord, Catalog, PolicyDefinition, SlaPolicy

if TYPE_CHECKING:
    from application.desk import Context, ServiceDesk

SYSTEM_ACTOR = "system"
DEFAULT_CALENDAR = "china-5x8"
DEFAULT_POLICY = "default"
# Placeholders until identities exist (issue 7): the ids notified on escalation by the
# default policy. A deployment redefines ``default`` with its real manager and expert.
DEFAULT_MANAGER = "sla-manager"
DEFAULT_EXPERT = "sla-expert"

_5X8 = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": [], "sun": []}


# The desk's internal time limits of the source documents ([001] 服务台, ADR 0062): dispatch
# within 10 minutes of the registration (于10分钟内完成分派); the dispatched task followed up
# within 30 minutes (30分钟内落实任务执行情况: the engineer started or arrived); after a late or
# missed arrival (a rescheduled visit), the user told within 10 minutes (10分钟内与用户沟通并重新
# 分排任务: a note on the ticket); the project manager told within 20 minutes of a warning
# (20分钟内上报项目经理: the escalation). In the desk's working time (china-5x8).
DEFAULT_MILESTONES = (
    {"name": "dispatch", "starts_on": "Registered", "stops_on": ["Assigned"],
     "target": "PT10M", "calendar": "business"},
    {"name": "dispatch_followup", "starts_on": "Assigned",
     "stops_on": ["Started", "VisitArrived"], "target": "PT30M", "calendar": "business"},
    {"name": "rescheduling", "starts_on": "VisitRescheduled", "stops_on": ["CommentAdded"],
     "target": "PT10M", "calendar": "business"},
    {"name": "pm_escalation", "starts_on": "SlaWarningRaised", "stops_on": ["Escalated"],
     "target": "PT20M", "calendar": "business"},
)


def default_calendar() -> CalendarDefinition:
    return CalendarDefinition.parse(
        name="China 5x8", timezone="Asia/Shanghai", base="china", working_hours=_5X8)


def default_policy() -> PolicyDefinition:
    return PolicyDefinition.parse(
        name="Default (DOMAIN.md §2)",
        calendar=DEFAULT_CALENDAR,
        targets={
            "P1": {"response": "PT2H", "resolution": "PT4H"},
            "P2": {"response": "PT4H", "resolution": "PT24H"},
            "P3": {"response": "PT8H", "resolution": "P3D"},
        },
        warning_thresholds=[0.5, 0.75],
        escalation={"manager": DEFAULT_MANAGER, "expert": DEFAULT_EXPERT},
        milestones=DEFAULT_MILESTONES,
    )


@command
class _Put(Command):
    missing_ok = True
    verb = "put"

    slug: str
    definition: Any
    # ``True``: define the record only if it does not exist (the defaults), never redefine.
    only_if_absent: bool = False

    def target(self) -> UUID | None:
        return self.record_class.id_for(self.slug)  # type: ignore[no-any-return]

    def prepare(self, desk: ServiceDesk) -> None:
        if not self.only_if_absent:
            with_defaults(desk)

    def decide(self, record: Any, ctx: Context) -> Any:
        at, actor = ctx.at, ctx.actor
        if record is not None:
            if self.only_if_absent:
                return NOTHING
            return None if record.redefine(self.definition, actor=actor, at=at) else NOTHING
        created = self.record_class.define(self.slug, self.definition, actor=actor, at=at)
        catalog = ctx.desk.load(Catalog.ID) or Catalog.open(at)
        catalog.add(self.record_label, self.slug, at)
        return (created, catalog)


@command
class PutCalendar(_Put):
    """``CalendarRecord.define`` → ``CalendarRecord.Defined`` (listed:
    ``Catalog.Listed``) or ``CalendarRecord.redefine`` → ``CalendarRecord.Redefined``;
    ``NOTHING`` when unchanged. HTTP: ``CalendarIn`` (parsed to a ``CalendarDefinition``)."""

    record_class = CalendarRecord
    record_label = "calendar"

    definition: CalendarDefinition


@command
class PutPolicy(_Put):
    """``SlaPolicy.define`` → ``SlaPolicy.Defined`` (listed: ``Catalog.Listed``) or
    ``SlaPolicy.redefine`` → ``SlaPolicy.Redefined``; ``NOTHING`` when unchanged. Its
    calendar must exist (a 422 naming ``calendar``). HTTP: ``PolicyIn`` (parsed to a
    ``PolicyDefinition``)."""

    record_class = SlaPolicy
    record_label = "policy"

    definition: PolicyDefinition

    def decide(self, record: Any, ctx: Context) -> Any:
        calendar = self.definition.calendar
        if not isinstance(ctx.desk.load_current(CalendarRecord.id_for(calendar)),
                          CalendarRecord):
            raise InvalidCommand.field("calendar", f"no calendar {calendar!r}; PUT it first")
        return _Put.decide(self, record, ctx)


# ----------------------------------------------------------------- the defaults


def ensure_defaults(desk: ServiceDesk) -> None:
    """Defines ``china-5x8`` and ``default`` when absent; never changes existing ones.

    Run on the first use of the SLA records per desk (``with_defaults``, so callers need
    not); call it directly to record the defaults eagerly. Idempotent across restarts (an
    existing record is left as it is, even if redefined since) and concurrent starts (the ids
    derive from the slugs: a second definer's save conflicts, and on the retry it finds the
    record and records nothing).
    """
    for command in (
        PutCalendar(slug=DEFAULT_CALENDAR, definition=default_calendar(), only_if_absent=True),
        PutPolicy(slug=DEFAULT_POLICY, definition=default_policy(), only_if_absent=True),
    ):
        if not isinstance(desk.load_current(command.target()), command.record_class):
            desk.handle(command, actor=SYSTEM_ACTOR)


_ready: weakref.WeakSet[ServiceDesk] = weakref.WeakSet()  # desks whose defaults are recorded
_ready_lock = threading.Lock()


def with_defaults(desk: ServiceDesk) -> None:
    """The defaults are recorded on the first use of the SLA records, not at start-up, so a
    fresh store stays empty until something asks for a calendar or policy (ADR 0014)."""
    if desk in _ready:
        return
    with _ready_lock:
        if desk not in _ready:
            ensure_defaults(desk)
            _ready.add(desk)
