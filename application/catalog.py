"""The SLA records: business calendars and SLA policies: reads (also as of a time), lists,
and the defaults every store starts with (ADR 0014).

The commands are values in ``application.commands.catalog`` (``PutCalendar``, ``PutPolicy``),
run by ``ServiceDesk.handle``; this module reads. The defaults are recorded on the first
use of the SLA records in a process (``with_defaults``), not at start-up, so a fresh store
stays empty until something asks for a calendar or policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.commands.catalog import with_defaults
from application.desk import ServiceDesk
from application.errors import ApplicationError
from domain.errors import InvalidCommand
from domain.sla import Catalog, CalendarRecord, SlaPolicy, valid_slug

class RecordNotFound(ApplicationError):
    def __init__(self, kind: str, slug: str):
        self.kind = kind
        self.slug = slug
        super().__init__(f"no {kind} {slug!r}")


_KINDS: dict[str, type] = {"calendar": CalendarRecord, "policy": SlaPolicy}


def find_record(desk: ServiceDesk, kind: str, slug: str) -> Any | None:
    """The calendar or policy ``slug`` as it is now (``kind``: ``calendar`` / ``policy``);
    ``None`` when there is none."""
    if not valid_slug(slug):
        return None
    record = desk.load_current(_KINDS[kind].id_for(slug))
    return record if isinstance(record, _KINDS[kind]) else None


def _get(desk: ServiceDesk, kind: str, slug: str, as_of: datetime | None) -> Any:
    with_defaults(desk)
    if as_of is None:
        record = find_record(desk, kind, slug)
        if record is None:
            raise RecordNotFound(kind, slug)
        return record
    if as_of.tzinfo is None:
        raise InvalidCommand.field("as_of", "needs a UTC offset")
    if not valid_slug(slug):
        raise RecordNotFound(kind, slug)
    aggregate: Any = None
    for event in desk.events.get(_KINDS[kind].id_for(slug)):
        if event.timestamp > as_of:
            break
        aggregate = event.mutate(aggregate)
    if not isinstance(aggregate, _KINDS[kind]):
        raise RecordNotFound(kind, slug)
    return aggregate


def _list(desk: ServiceDesk, kind: str) -> list[Any]:
    with_defaults(desk)
    catalog: Catalog | None = desk.load(Catalog.ID)
    if catalog is None:
        return []
    slugs = catalog.calendars if kind == "calendar" else catalog.policies
    return [r for r in (find_record(desk, kind, s) for s in sorted(slugs)) if r is not None]


# ------------------------------------------------------------------- calendars


def get_calendar(desk: ServiceDesk, slug: str, as_of: datetime | None = None) -> CalendarRecord:
    return _get(desk, "calendar", slug, as_of)  # type: ignore[no-any-return]


def list_calendars(desk: ServiceDesk) -> list[CalendarRecord]:
    return _list(desk, "calendar")


# -------------------------------------------------------------------- policies


def get_policy(desk: ServiceDesk, slug: str, as_of: datetime | None = None) -> SlaPolicy:
    return _get(desk, "policy", slug, as_of)  # type: ignore[no-any-return]


def list_policies(desk: ServiceDesk) -> list[SlaPolicy]:
    return _list(desk, "policy")


# -------------------------------------------------------------------- defaults


def record_id(kind: str, slug: str) -> UUID:
    return _KINDS[kind].id_for(slug)  # type: ignore[no-any-return]


def current_versions(desk: ServiceDesk) -> dict[tuple[str, str], int]:
    """The current version of every calendar and policy, by (kind, slug); reads only (never
    records the defaults), for the watcher's policy-change check (ADR 0018)."""
    catalog: Catalog | None = desk.load(Catalog.ID)
    if catalog is None:
        return {}
    out: dict[tuple[str, str], int] = {}
    for kind, slugs in (("calendar", catalog.calendars), ("policy", catalog.policies)):
        for slug in slugs:
            record = find_record(desk, kind, slug)
            if record is not None:
                out[kind, slug] = record.version
    return out
