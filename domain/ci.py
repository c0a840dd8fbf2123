"""A configuration item (配置项, ``CI-YYYYMMDD-NNN``; issue 20 item 1, ADR 0063).

The source documents keep a configuration library per project ("配置库/配置清单 每月补充",
[001] 1.1.3), asset tags ("资产标签") and verify it twice a year ("每年2次的巡检过程中,对IT资产
登记的真实性和准确性进行核查", [001]). So a CI is an event-sourced record like a ticket (any CI
"as of" any time):

- ``register`` → ``ConfigurationItem.Registered``: class (from a configurable list), name,
  customer, location, asset tag, serial, model, vendor, warranty end, status and free
  attributes (text per name, the class's own fields);
- ``update`` → ``Updated`` with only the fields that changed (none changed: nothing recorded);
- ``change_status`` → ``StatusChanged`` (``in_use`` / ``spare`` / ``in_repair`` / ``retired``,
  with a reason; a retired CI changes no more: 409);
- ``relate`` / ``unrelate`` → ``Related`` / ``Unrelated``: a relation is a record of its own
  kept on its source CI (``relation id``, type, target): "this CI ``runs_on`` / ``depends_on``
  / ``installed_on`` / ``connected_to`` the target". Cycles are allowed (the impact walk
  visits each CI once); a CI relating to itself is refused (422 naming ``target``);
- ``verify`` → ``Verified``: a verification round's (核查) verdict on this CI.

Pure: standard library and ``eventsourcing.domain``; time, actor and ids come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, collapsed, given, present, refuse_fields, stripped
from domain.customer import normalise_customer_id
from domain.errors import FieldError, InvalidCommand
from domain.records import RecordEvent

#: The classes a CI may have unless the deployment configures its own list
#: (``OPSLEDGER_CI_CLASSES``).
DEFAULT_CLASSES: tuple[str, ...] = (
    "server", "virtual_machine", "network", "storage", "pc", "printer", "application",
    "database", "licence", "service", "other",
    # what inventories also call them (an import keeps its own words)
    "vm", "switch", "router", "firewall", "load_balancer", "laptop", "desktop", "monitor",
    "phone", "ups", "middleware", "software", "license", "system", "cluster", "container")
#: Classes whose CIs are "systems" in an impact answer (what the customer would call it).
SYSTEM_CLASSES = frozenset({"application", "database", "service"})
MAX_ATTRIBUTES = 100


class Status(StrEnum):
    IN_USE = "in_use"
    SPARE = "spare"
    IN_REPAIR = "in_repair"
    RETIRED = "retired"


class RelationType(StrEnum):
    """"Source <type> target": the source depends on the target in each of them."""

    RUNS_ON = "runs_on"
    DEPENDS_ON = "depends_on"
    INSTALLED_ON = "installed_on"
    CONNECTED_TO = "connected_to"


class Verdict(StrEnum):
    """A verification round's finding on one CI (核查)."""

    CONFIRMED = "confirmed"  # found as registered
    CORRECTED = "corrected"  # found, the register was corrected
    MISSING = "missing"  # not found where registered


_OPEN = ("update", "change_status", "relate", "unrelate", "verify")
ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.IN_USE: _OPEN,
    Status.SPARE: _OPEN,
    Status.IN_REPAIR: _OPEN,
    Status.RETIRED: ("unrelate", "verify"),
}

#: The descriptive fields ``update`` may change (``warranty_end`` a date or ``None``).
TEXT_FIELDS = ("name", "ci_class", "customer", "location", "asset_tag", "serial", "model",
               "vendor")
FIELDS = (*TEXT_FIELDS, "warranty_end", "attributes")


def ci_class_of(value: Any, classes: Iterable[str], field: str = "class") -> str:
    """``value`` as a known class (lower case, ``-``/space as ``_``), else a 422 naming
    ``field`` with the classes allowed."""
    text = collapsed(value).lower().replace("-", "_").replace(" ", "_")
    known = tuple(classes)
    if text not in known:
        raise InvalidCommand.field(field, ("must not be empty; " if not text else
                                           f"unknown class {text!r}; ") +
                                   "one of " + ", ".join(known))
    return text


def clean_attributes(values: Mapping[str, Any] | None, field: str = "attributes"
                     ) -> dict[str, str]:
    """Free attributes as text by name (names stripped, empty values dropped)."""
    out: dict[str, str] = {}
    for k, v in (values or {}).items():
        name = collapsed(k)
        if not name:
            raise InvalidCommand.field(field, "an attribute needs a name")
        text = v if isinstance(v, str) else ("" if v is None else str(v))
        if text.strip():
            out[name] = text.strip()
    if len(out) > MAX_ATTRIBUTES:
        raise InvalidCommand.field(field, f"at most {MAX_ATTRIBUTES} attributes")
    return dict(sorted(out.items()))


class Relation:
    """A relation as kept on its source CI (value object, not stored by itself)."""

    __slots__ = ("id", "type", "target", "target_number", "since", "by")

    def __init__(self, id: str, type: RelationType, target: str, target_number: str,
                 since: datetime, by: str) -> None:
        self.id, self.type, self.target = id, type, target
        self.target_number, self.since, self.by = target_number, since, by


class ConfigurationItem(StatusRules, Aggregate):
    TOPIC = "opsledger.ci:ConfigurationItem"
    ALLOWED = ALLOWED
    RECORD = "configuration item"

    class Event(RecordEvent):
        TOPIC = "opsledger.ci:ConfigurationItem.Event"

    class Registered(Aggregate.Created):
        TOPIC = "opsledger.ci:ConfigurationItem.Registered"
        number: str
        name: str
        ci_class: str
        customer: str
        location: str
        asset_tag: str
        serial: str
        model: str
        vendor: str
        warranty_end: date | None
        status: str
        attributes: dict[str, str]
        actor: str

    class Updated(Event):
        """The fields that changed, each with its new value (``warranty_end`` as ISO text or
        ``""`` for none; ``attributes`` the whole new set)."""

        TOPIC = "opsledger.ci:ConfigurationItem.Updated"
        changes: dict[str, Any]

        def apply(self, ci: ConfigurationItem) -> None:
            for name, value in self.changes.items():
                if name == "warranty_end":
                    ci.warranty_end = date.fromisoformat(value) if value else None
                elif name == "attributes":
                    ci.attributes = dict(value)
                else:
                    setattr(ci, name, value)

    class StatusChanged(Event):
        TOPIC = "opsledger.ci:ConfigurationItem.StatusChanged"
        status: str
        reason: str

        def apply(self, ci: ConfigurationItem) -> None:
            ci.status = Status(self.status)

    class Related(Event):
        """"This CI <relation_type> the target"."""

        TOPIC = "opsledger.ci:ConfigurationItem.Related"
        relation_id: str
        relation_type: str
        target: str
        target_number: str

        def apply(self, ci: ConfigurationItem) -> None:
            ci.relations = (*ci.relations, Relation(
                self.relation_id, RelationType(self.relation_type), self.target,
                self.target_number, self.timestamp, self.actor))

    class Unrelated(Event):
        TOPIC = "opsledger.ci:ConfigurationItem.Unrelated"
        relation_id: str
        relation_type: str
        target: str
        reason: str

        def apply(self, ci: ConfigurationItem) -> None:
            ci.relations = tuple(r for r in ci.relations if r.id != self.relation_id)

    class Verified(Event):
        """A verification round's (核查) verdict on this CI."""

        TOPIC = "opsledger.ci:ConfigurationItem.Verified"
        round: str
        verdict: str
        note: str

        def apply(self, ci: ConfigurationItem) -> None:
            ci.verifications = (*ci.verifications,
                                (self.round, Verdict(self.verdict), self.note, self.timestamp,
                                 self.actor))

    def __init__(self, number: str, name: str, ci_class: str, customer: str, location: str,
                 asset_tag: str, serial: str, model: str, vendor: str,
                 warranty_end: date | None, status: str, attributes: dict[str, str],
                 actor: str) -> None:
        self.number = number
        self.name = name
        self.ci_class = ci_class
        self.customer = customer
        self.location = location
        self.asset_tag = asset_tag
        self.serial = serial
        self.model = model
        self.vendor = vendor
        self.warranty_end = warranty_end
        self.status = Status(status)
        self.attributes = dict(attributes)
        self.registered_by = actor
        self.relations: tuple[Relation, ...] = ()
        self.verifications: tuple[tuple[str, Verdict, str, datetime, str], ...] = ()

    # ----------------------------------------------------------------- queries

    @property
    def registered_at(self) -> datetime:
        return self.created_on

    def in_warranty(self, on: date) -> bool | None:
        return None if self.warranty_end is None else on <= self.warranty_end

    def belongs_to(self, customer: str | None) -> bool:
        wanted = normalise_customer_id(customer or "")
        return bool(wanted) and wanted == self.customer

    def relation(self, relation_id: str) -> Relation | None:
        return next((r for r in self.relations if r.id == relation_id), None)

    # ---------------------------------------------------------------- commands

    @classmethod
    def register(cls, *, id: Any, number: str, name: str, ci_class: str, customer: str,
                 actor: str, at: datetime, classes: Iterable[str] = DEFAULT_CLASSES,
                 location: str = "", asset_tag: str = "", serial: str = "", model: str = "",
                 vendor: str = "", warranty_end: date | None = None,
                 status: Status | str = Status.IN_USE,
                 attributes: Mapping[str, Any] | None = None) -> ConfigurationItem:
        """One 422 names every field refused."""
        errors: list[FieldError] = []
        title = present(errors, "name", collapsed(name))
        owner = present(errors, "customer", normalise_customer_id(customer))
        kind = ""
        try:
            kind = ci_class_of(ci_class, classes)
        except InvalidCommand as e:
            errors += e.errors
        state = ""
        try:
            state = Status(status).value
        except ValueError:
            errors.append(FieldError("status", "one of " + ", ".join(s.value for s in Status)))
        attrs: dict[str, str] = {}
        try:
            attrs = clean_attributes(attributes)
        except InvalidCommand as e:
            errors += e.errors
        refuse_fields(errors)
        return cls._create(
            cls.Registered, id=id, timestamp=at, number=number, name=title, ci_class=kind,
            customer=owner, location=stripped(location), asset_tag=collapsed(asset_tag),
            serial=collapsed(serial), model=stripped(model), vendor=stripped(vendor),
            warranty_end=warranty_end, status=state, attributes=attrs, actor=actor)

    def update(self, *, fields: Mapping[str, Any], actor: str, at: datetime,
               classes: Iterable[str] = DEFAULT_CLASSES) -> bool:
        """Records the fields of ``fields`` whose value differs (``Updated``); ``False`` when
        nothing changed. ``None`` leaves a field as it is (``warranty_end``: ``""`` clears)."""
        self.require("update")
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if value is None:
                continue
            if name not in FIELDS:
                raise InvalidCommand.field(name, "not a field of a configuration item")
            if name == "ci_class":
                new: Any = ci_class_of(value, classes)
            elif name == "customer":
                new = normalise_customer_id(value)
            elif name == "name":
                new = collapsed(value)
            elif name == "warranty_end":
                new = value.isoformat() if isinstance(value, date) else stripped(value)
                if new:
                    try:
                        new = date.fromisoformat(new).isoformat()
                    except ValueError:
                        raise InvalidCommand.field(name, "a date (YYYY-MM-DD), or empty to "
                                                   "clear it") from None
                old = self.warranty_end.isoformat() if self.warranty_end else ""
                if new != old:
                    changes[name] = new
                continue
            elif name == "attributes":
                new = clean_attributes(value)
            else:
                new = collapsed(value) if name in ("asset_tag", "serial") else stripped(value)
            if name in ("name", "customer") and not new:
                raise InvalidCommand.field(name, "must not be empty")
            if new != getattr(self, name):
                changes[name] = new
        if not changes:
            return False
        self.trigger_event(self.Updated, timestamp=at, actor=actor, changes=changes)
        return True

    def change_status(self, *, status: Status | str, reason: str, actor: str,
                      at: datetime) -> bool:
        """``StatusChanged`` (a reason is required); the same status again records nothing
        and answers ``False``; a retired CI: 409."""
        try:
            new = Status(status)
        except ValueError:
            raise InvalidCommand.field(
                "status", "one of " + ", ".join(s.value for s in Status)) from None
        if new is self.status:
            return False
        self.require("change_status")
        why = given("reason", reason, "say why the status changes")
        self.trigger_event(self.StatusChanged, timestamp=at, actor=actor, status=new.value,
                           reason=why)
        return True

    def relate(self, *, relation_id: str, type: RelationType | str, target: str,
               target_number: str, actor: str, at: datetime) -> Relation:
        """"This CI <type> ``target``"; the same relation again records nothing."""
        self.require("relate")
        try:
            kind = RelationType(type)
        except ValueError:
            raise InvalidCommand.field(
                "type", "one of " + ", ".join(t.value for t in RelationType)) from None
        if target == str(self.id):
            raise InvalidCommand.field("target", "a configuration item cannot relate to itself")
        for r in self.relations:
            if r.type is kind and r.target == target:
                return r
        self.trigger_event(self.Related, timestamp=at, actor=actor, relation_id=relation_id,
                           relation_type=kind.value, target=target, target_number=target_number)
        return self.relations[-1]

    def unrelate(self, *, relation_id: str, reason: str, actor: str, at: datetime) -> None:
        self.require("unrelate")
        r = self.relation(relation_id)
        if r is None:
            raise InvalidCommand.field("relation", f"no relation {relation_id!r} on {self.number}")
        self.trigger_event(self.Unrelated, timestamp=at, actor=actor, relation_id=r.id,
                           relation_type=r.type.value, target=r.target, reason=stripped(reason))

    def verify(self, *, round: str, verdict: Verdict | str, note: str, actor: str,
               at: datetime) -> None:
        """A verification round's verdict; ``corrected`` and ``missing`` need a note."""
        self.require("verify")
        errors: list[FieldError] = []
        name = present(errors, "round", collapsed(round))
        try:
            found = Verdict(verdict)
        except ValueError:
            found = None
            errors.append(FieldError("verdict", "one of " + ", ".join(v.value for v in Verdict)))
        if found in (Verdict.CORRECTED, Verdict.MISSING) and not stripped(note):
            errors.append(FieldError("note", f"say what was found ({found.value})"))
        refuse_fields(errors)
        assert found is not None
        self.trigger_event(self.Verified, timestamp=at, actor=actor, round=name,
                           verdict=found.value, note=stripped(note))


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month_start(day: date) -> date:
    first = month_start(day)
    return (first.replace(year=first.year - 1, month=12) if first.month == 1
            else first.replace(month=first.month - 1))


def library_stale(last_update: date | None, today: date) -> bool:
    """"配置库 每月补充": a customer's configuration library is flagged when a whole calendar
    month went by without a change to it -- its last change lies before the first day of the
    previous month (a library never changed is not flagged: it is empty)."""
    return last_update is not None and last_update < previous_month_start(today)


class NamesCis:
    """What a problem or a change does to name the configuration items it concerns
    (``affected_cis``, ADR 0063): its ``CisAffected`` event carries the whole set each time,
    ``(id, number)`` pairs given; the same set again records nothing."""

    affected_cis: tuple[str, ...]
    affected_ci_numbers: tuple[str, ...]

    def name_cis(self, *, cis: tuple[tuple[str, str], ...], actor: str, at: datetime) -> bool:
        ids = tuple(i for i, _ in cis)
        if ids == self.affected_cis:
            return False
        self.trigger_event(self.CisAffected, timestamp=at, actor=actor,  # type: ignore[attr-defined]
                           cis=ids, numbers=tuple(n for _, n in cis))
        return True


def apply_cis(record: Any, cis: tuple[str, ...], numbers: tuple[str, ...]) -> None:
    """A ``CisAffected`` event's change to its record."""
    record.affected_cis = tuple(cis)
    record.affected_ci_numbers = tuple(numbers)


class CisAffectedEvent(Aggregate.Event):
    """What the ``CisAffected`` event of a ticket, problem or change carries and does (each
    declares its own ``TOPIC``): the configuration items it concerns, ids and ``CI-`` numbers
    in the same order, the whole set each time (ADR 0063, 0072)."""

    cis: tuple[str, ...]
    numbers: tuple[str, ...]

    def apply(self, record: Any) -> None:
        apply_cis(record, self.cis, self.numbers)
