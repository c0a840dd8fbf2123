"""Use cases of the SLA records: define, redefine, read (also as of a time) and list business
calendars and SLA policies, and the defaults every store starts with (ADR 0014).

These are functions over the same ``ServiceDesk`` (its store, clock, cache and write lock),
not a second application: one event store, one notification log, one composition root.

A PUT is "create or redefine": the record's id derives from its slug, so two creators of one
slug race on the same stream; the loser's save conflicts, it reloads and redefines (or finds
the same definition and records nothing). A creation also lists the slug in the ``Catalog``
in the same transaction.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.desk import MAX_ATTEMPTS, RETRY_DELAY, RETRY_MAX_DELAY, ServiceDesk
from application.errors import ApplicationError, ConcurrencyConflict, VersionMismatch
from application.idempotency import IdempotencyKey, IdempotencyRecord
from domain.errors import InvalidCommand
from domain.sla import (
    Catalog,
    CalendarDefinition,
    CalendarRecord,
    PolicyDefinition,
    SlaPolicy,
    valid_slug,
)

SYSTEM_ACTOR = "system"
DEFAULT_CALENDAR = "china-5x8"
DEFAULT_POLICY = "default"
# Placeholders until identities exist (issue 7): the ids notified on escalation by the
# default policy. A deployment redefines ``default`` with its real manager and expert.
DEFAULT_MANAGER = "sla-manager"
DEFAULT_EXPERT = "sla-expert"

_5X8 = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": [], "sun": []}


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
    )


class RecordNotFound(ApplicationError):
    def __init__(self, kind: str, slug: str):
        self.kind = kind
        self.slug = slug
        super().__init__(f"no {kind} {slug!r}")


class RecordVersionMismatch(VersionMismatch):
    def __init__(self, kind: str, expected: int, actual: int):
        super().__init__(expected, actual)
        self.args = (f"the {kind} is at version {actual}, not {expected}; reload and retry",)


@dataclass
class RecordResult:
    record: Any  # CalendarRecord | SlaPolicy
    created: bool = False
    changed: bool = False  # a new version was recorded
    replayed: bool = False  # an Idempotency-Key repeat


_KINDS: dict[str, type] = {"calendar": CalendarRecord, "policy": SlaPolicy}
_ready: weakref.WeakSet[ServiceDesk] = weakref.WeakSet()  # desks whose defaults are recorded
_ready_lock = threading.Lock()


def _with_defaults(desk: ServiceDesk) -> None:
    """The defaults are recorded on the first use of the SLA records, not at start-up, so a
    fresh store stays empty until something asks for a calendar or policy (ADR 0014)."""
    if desk in _ready:
        return
    with _ready_lock:
        if desk not in _ready:
            ensure_defaults(desk)
            _ready.add(desk)


def _load(desk: ServiceDesk, kind: str, slug: str) -> Any | None:
    if not valid_slug(slug):
        return None
    try:
        record = desk._get_current(_KINDS[kind].id_for(slug))
    except AggregateNotFoundError:
        return None
    return record if isinstance(record, _KINDS[kind]) else None


def _put(
    desk: ServiceDesk,
    kind: str,
    slug: str,
    definition: Any,
    *,
    actor: str,
    expected_version: int | None,
    idempotency: IdempotencyKey | None,
    check: Callable[[], None] | None = None,
) -> RecordResult:
    _with_defaults(desk)
    cls = _KINDS[kind]
    for attempt in range(MAX_ATTEMPTS):
        idem_record = desk._find_idempotent(idempotency)
        if idem_record is not None:
            record = desk.repository.get(idem_record.target_id, version=idem_record.target_version)
            return RecordResult(record=record, created=idem_record.created, replayed=True)
        if check is not None:
            check()
        record = _load(desk, kind, slug)
        if expected_version is not None:
            actual = record.version if record is not None else 0
            if actual != expected_version:
                raise RecordVersionMismatch(kind, expected_version, actual)
        at = desk.clock.now()
        created = record is None
        catalog = None
        if created:
            record = cls.define(slug, definition, actor=actor, at=at)
            try:
                catalog = desk._get(Catalog.ID)
            except AggregateNotFoundError:
                catalog = Catalog.open(at)
            catalog.add(kind, slug, at)
            changed = True
        else:
            changed = record.redefine(definition, actor=actor, at=at)
        idem = (
            IdempotencyRecord.record(
                idempotency, target_id=record.id, target_version=record.version,
                created=created, actor=actor, at=at,
            )
            if idempotency is not None
            else None
        )
        if not changed and idem is None:
            return RecordResult(record=record)
        try:
            desk._save(record if changed else None, catalog, idem)
        except IntegrityError:
            time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**attempt)))
            continue
        return RecordResult(record=record, created=created, changed=changed)
    raise ConcurrencyConflict(MAX_ATTEMPTS)


def _get(desk: ServiceDesk, kind: str, slug: str, as_of: datetime | None) -> Any:
    _with_defaults(desk)
    if as_of is None:
        record = _load(desk, kind, slug)
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
    _with_defaults(desk)
    try:
        catalog: Catalog = desk._get(Catalog.ID)
    except AggregateNotFoundError:
        return []
    slugs = catalog.calendars if kind == "calendar" else catalog.policies
    return [r for r in (_load(desk, kind, s) for s in sorted(slugs)) if r is not None]


# ------------------------------------------------------------------- calendars


def put_calendar(
    desk: ServiceDesk,
    slug: str,
    definition: CalendarDefinition,
    *,
    actor: str,
    expected_version: int | None = None,
    idempotency: IdempotencyKey | None = None,
) -> RecordResult:
    return _put(desk, "calendar", slug, definition, actor=actor,
                expected_version=expected_version, idempotency=idempotency)


def get_calendar(desk: ServiceDesk, slug: str, as_of: datetime | None = None) -> CalendarRecord:
    return _get(desk, "calendar", slug, as_of)  # type: ignore[no-any-return]


def list_calendars(desk: ServiceDesk) -> list[CalendarRecord]:
    return _list(desk, "calendar")


# -------------------------------------------------------------------- policies


def put_policy(
    desk: ServiceDesk,
    slug: str,
    definition: PolicyDefinition,
    *,
    actor: str,
    expected_version: int | None = None,
    idempotency: IdempotencyKey | None = None,
) -> RecordResult:
    def check() -> None:
        if _load(desk, "calendar", definition.calendar) is None:
            raise InvalidCommand.field(
                "calendar", f"no calendar {definition.calendar!r}; PUT it first")

    return _put(desk, "policy", slug, definition, actor=actor,
                expected_version=expected_version, idempotency=idempotency, check=check)


def get_policy(desk: ServiceDesk, slug: str, as_of: datetime | None = None) -> SlaPolicy:
    return _get(desk, "policy", slug, as_of)  # type: ignore[no-any-return]


def list_policies(desk: ServiceDesk) -> list[SlaPolicy]:
    return _list(desk, "policy")


# -------------------------------------------------------------------- defaults


def ensure_defaults(desk: ServiceDesk) -> None:
    """Defines ``china-5x8`` and ``default`` when absent; never changes existing ones.

    Called by every use case of this module on its first use per desk (so callers need not);
    call it directly to record the defaults eagerly. Idempotent across restarts (an existing record is left as it is, even if redefined since)
    and concurrent starts (the ids derive from the slugs: a second definer's save conflicts,
    and on the retry it finds the record and stops).
    """
    for kind, slug, definition in (
        ("calendar", DEFAULT_CALENDAR, default_calendar()),
        ("policy", DEFAULT_POLICY, default_policy()),
    ):
        for attempt in range(MAX_ATTEMPTS):
            if _load(desk, kind, slug) is not None:
                break
            at = desk.clock.now()
            record = _KINDS[kind].define(slug, definition, actor=SYSTEM_ACTOR, at=at)
            try:
                catalog = desk._get(Catalog.ID)
            except AggregateNotFoundError:
                catalog = Catalog.open(at)
            catalog.add(kind, slug, at)
            try:
                desk._save(record, catalog)
            except IntegrityError:
                time.sleep(random.uniform(0, min(RETRY_MAX_DELAY, RETRY_DELAY * 2**attempt)))
                continue
            break


def record_id(kind: str, slug: str) -> UUID:
    return _KINDS[kind].id_for(slug)  # type: ignore[no-any-return]


def current_versions(desk: ServiceDesk) -> dict[tuple[str, str], int]:
    """The current version of every calendar and policy, by (kind, slug); reads only (never
    records the defaults), for the watcher's policy-change check (ADR 0018)."""
    try:
        catalog: Catalog = desk._get(Catalog.ID)
    except AggregateNotFoundError:
        return {}
    out: dict[tuple[str, str], int] = {}
    for kind, slugs in (("calendar", catalog.calendars), ("policy", catalog.policies)):
        for slug in slugs:
            record = _load(desk, kind, slug)
            if record is not None:
                out[kind, slug] = record.version
    return out
