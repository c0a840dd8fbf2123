"""Agreements: SLA, OLA and UC (签订和维护 SLA、OLA 和 UC, issue 21 item 2, ADR 0066).

The source documents ([002] 岗位职责: "与有关方面协商谈判、并负责签订和维护SLA、OLA和UC") ask the
provider to keep three kinds of agreement:

- ``sla``: with a customer (``customer`` required) -- what the provider promises them;
- ``ola``: between internal groups (``groups`` required: the groups bound by it);
- ``uc``: with a vendor (``vendor`` required) -- what an outside supplier promises the
  provider (the clock of a repair order sent to that vendor).

Each has parties (derived from the kind: the provider and the customer, the groups, the
vendor), the services it covers (names matched against a ticket's catalogue service,
category or affected system; none: every service), targets (response and resolution per
priority, e.g. ``P1: PT2H / PT4H``) or the SLA policy it refers to, and its validity
``[valid_from, valid_to]`` (whole days). ``conclude`` records ``Agreement.Concluded``
(``AGR-YYYYMMDD-NNN``, version 1); ``revise`` records ``Agreement.Revised`` with the
agreement's next version number and the fields it changes; ``terminate`` ends it early.
``warn_expiry`` records ``Agreement.ExpiryWarned`` once per validity end, when it expires
within ``EXPIRY_NOTICE`` (30 days): the watcher asks it on every tick, the agreement decides.

A ticket is covered by an agreement in force when every scope the agreement names matches
it (``covers``): the customer, one of the groups, one of the services. An agreement that
names no customer, group or service (a UC only about a vendor) covers no ticket; it
governs the repair orders sent to its vendor.

Pure: standard library and ``eventsourcing.domain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import StatusRules, given, present, refuse_fields, stripped, unique_texts
from domain.customer import normalise_customer_id
from domain.errors import FieldError
from domain.records import RecordEvent, directory

#: An agreement that ends within this many days is flagged (issue 21 item 2).
EXPIRY_NOTICE = timedelta(days=30)
PRIORITIES = ("P1", "P2", "P3")
MAX_TARGET = timedelta(days=366)
#: The fields a revision may change.
REVISABLE = ("title", "customer", "groups", "vendor", "services", "targets", "sla_policy",
             "valid_from", "valid_to", "notes")


class Kind(StrEnum):
    SLA = "sla"  # with a customer
    OLA = "ola"  # between internal groups
    UC = "uc"  # with a vendor (underpinning contract)


class Status(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


class Phase(StrEnum):
    """Where the agreement's validity stands on a given day."""

    PENDING = "pending"  # not yet valid
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    TERMINATED = "terminated"


ALLOWED: dict[Status, tuple[str, ...]] = {
    Status.ACTIVE: ("revise", "terminate"),
    Status.TERMINATED: (),
}


@dataclass(frozen=True)
class Target:
    """What the agreement promises for one priority: the response and resolution times."""

    priority: str
    response: timedelta | None = None
    resolution: timedelta | None = None


def _targets(values: Any, errors: list[FieldError]) -> tuple[Target, ...]:
    out: dict[str, Target] = {}
    for t in values or ():
        name = stripped(t.priority).upper()
        if name not in PRIORITIES:
            errors.append(FieldError(f"targets.{t.priority}", "a priority: P1, P2 or P3"))
            continue
        for clock in ("response", "resolution"):
            value = getattr(t, clock)
            if value is not None and value <= timedelta(0):
                errors.append(FieldError(f"targets.{name}.{clock}", "must be positive"))
            elif value is not None and value > MAX_TARGET:
                errors.append(FieldError(f"targets.{name}.{clock}", "at most 366 days"))
        if t.response and t.resolution and t.resolution < t.response:
            errors.append(FieldError(f"targets.{name}.resolution",
                                     "must not be shorter than the response"))
        out[name] = Target(name, t.response, t.resolution)
    return tuple(out[p] for p in PRIORITIES if p in out)


def _validity_errors(valid_from: Any, valid_to: Any) -> list[FieldError]:
    errors = []
    if not isinstance(valid_from, date):
        errors.append(FieldError("valid_from", "must not be empty (an ISO date)"))
    if not isinstance(valid_to, date):
        errors.append(FieldError("valid_to", "must not be empty (an ISO date)"))
    elif isinstance(valid_from, date) and valid_to < valid_from:
        errors.append(FieldError("valid_to", "must not be before valid_from"))
    return errors


def _scope_errors(kind: Kind, customer: str, groups: tuple[str, ...], vendor: str
                  ) -> list[FieldError]:
    if kind is Kind.SLA and not customer:
        return [FieldError("customer", "an SLA is agreed with a customer: name it")]
    if kind is Kind.OLA and not groups:
        return [FieldError("groups", "an OLA binds internal groups: name at least one")]
    if kind is Kind.UC and not vendor:
        return [FieldError("vendor", "a UC is agreed with a vendor: name it")]
    return []


class Agreement(StatusRules, Aggregate):
    TOPIC = "opsledger.agreement:Agreement"
    ALLOWED = ALLOWED
    RECORD = "agreement"

    class Event(RecordEvent):
        TOPIC = "opsledger.agreement:Agreement.Event"

    class Concluded(Aggregate.Created):
        """Version 1 of the agreement."""

        TOPIC = "opsledger.agreement:Agreement.Concluded"
        number: str
        kind: Kind
        title: str
        customer: str
        groups: tuple[str, ...]
        vendor: str
        services: tuple[str, ...]
        targets: tuple[Target, ...]
        sla_policy: str
        valid_from: date
        valid_to: date
        notes: str
        actor: str

    class Revised(Event):
        """A new version (``agreement_version``): the fields given (not ``None``) replace the
        agreement's, the others stay."""

        TOPIC = "opsledger.agreement:Agreement.Revised"
        agreement_version: int
        title: str | None
        customer: str | None
        groups: tuple[str, ...] | None
        vendor: str | None
        services: tuple[str, ...] | None
        targets: tuple[Target, ...] | None
        sla_policy: str | None
        valid_from: date | None
        valid_to: date | None
        notes: str | None
        reason: str

        def apply(self, a: Agreement) -> None:
            a.agreement_version = self.agreement_version
            for name in REVISABLE:
                value = getattr(self, name)
                if value is not None:
                    setattr(a, name, value)

    class Terminated(Event):
        TOPIC = "opsledger.agreement:Agreement.Terminated"
        reason: str

        def apply(self, a: Agreement) -> None:
            a.status = Status.TERMINATED
            a.terminated_at = self.timestamp
            a.terminate_reason = self.reason

    class ExpiryWarned(Event):
        """The agreement ends within 30 days (recorded once per ``valid_to``)."""

        TOPIC = "opsledger.agreement:Agreement.ExpiryWarned"
        valid_to: date

        def apply(self, a: Agreement) -> None:
            a.expiry_warned_for = self.valid_to

    def __init__(self, number: str, kind: Kind, title: str, customer: str,
                 groups: tuple[str, ...], vendor: str, services: tuple[str, ...],
                 targets: tuple[Target, ...], sla_policy: str, valid_from: date, valid_to: date,
                 notes: str, actor: str) -> None:
        self.number = number
        self.kind = Kind(kind)
        self.title = title
        self.customer = customer
        self.groups = tuple(groups)
        self.vendor = vendor
        self.services = tuple(services)
        self.targets = tuple(targets)
        self.sla_policy = sla_policy
        self.valid_from = valid_from
        self.valid_to = valid_to
        self.notes = notes
        self.concluded_by = actor
        self.status = Status.ACTIVE
        self.agreement_version = 1
        self.terminated_at: datetime | None = None
        self.terminate_reason: str | None = None
        self.expiry_warned_for: date | None = None

    # ----------------------------------------------------------------- queries

    @property
    def parties(self) -> tuple[str, ...]:
        """Who is bound: the provider and the customer, the internal groups, or the vendor
        and the provider."""
        if self.kind is Kind.SLA:
            return ("provider", self.customer)
        if self.kind is Kind.OLA:
            return self.groups
        return (self.vendor, "provider")

    def phase(self, today: date) -> Phase:
        if self.status is Status.TERMINATED:
            return Phase.TERMINATED
        if today < self.valid_from:
            return Phase.PENDING
        return Phase.IN_FORCE if today <= self.valid_to else Phase.EXPIRED

    def in_force(self, today: date) -> bool:
        return self.phase(today) is Phase.IN_FORCE

    def expiring(self, today: date, notice: timedelta = EXPIRY_NOTICE) -> bool:
        """Whether the agreement is valid (or about to be) and ends within ``notice``."""
        return (self.phase(today) in (Phase.IN_FORCE, Phase.PENDING)
                and self.valid_to - today <= notice)

    def days_left(self, today: date) -> int:
        return (self.valid_to - today).days

    def target(self, priority: str | None) -> Target | None:
        return next((t for t in self.targets if t.priority == priority), None)

    def covers(self, customer: str | None, group: str | None,
               services: tuple[str, ...] | list[str]) -> bool:
        """Whether a ticket of ``customer``, ``group`` and ``services`` (its catalogue
        service, category, affected system) is in the agreement's scope."""
        named = False
        if self.customer:
            named = True
            if normalise_customer_id(customer or "") != self.customer:
                return False
        if self.groups:
            named = True
            if group not in self.groups:
                return False
        if self.services:
            named = True
            wanted = {s.casefold() for s in self.services}
            if not any(s and s.casefold() in wanted for s in services):
                return False
        return named

    def concerns(self, customer: str | None) -> bool:
        wanted = normalise_customer_id(customer or "")
        return bool(wanted) and wanted == self.customer

    # ---------------------------------------------------------------- commands

    @classmethod
    def conclude(cls, *, id: UUID, number: str, kind: str, title: str, customer: str = "",
                 groups: Any = (), vendor: str = "", services: Any = (), targets: Any = (),
                 sla_policy: str = "", valid_from: date | None, valid_to: date | None,
                 notes: str = "", actor: str, at: datetime) -> Agreement:
        errors: list[FieldError] = []
        who = normalise_customer_id(customer or "")
        bound = unique_texts(groups)
        supplier = stripped(vendor)
        named = stripped(kind).lower() or (  # left out: the kind of the party named
            "sla" if who else "ola" if bound else "uc" if supplier else "")
        try:
            k = Kind(named)
        except ValueError:
            errors.append(FieldError("kind", "one of sla, ola, uc"))
            k = None
        party = who or "、".join(bound) or supplier
        heading = present(errors, "title", stripped(title) or (
            f"{k.value.upper()} {party}" if k and party else ""))
        if k is not None:
            errors += _scope_errors(k, who, bound, supplier)
        promised = _targets(targets, errors)
        errors += _validity_errors(valid_from, valid_to)
        refuse_fields(errors)
        assert k is not None and valid_from is not None and valid_to is not None
        return cls._create(
            cls.Concluded, id=id, timestamp=at, number=number, kind=k, title=heading,
            customer=who, groups=bound, vendor=supplier, services=unique_texts(services),
            targets=promised, sla_policy=stripped(sla_policy), valid_from=valid_from,
            valid_to=valid_to, notes=stripped(notes), actor=actor)

    def revise(self, *, changes: dict[str, Any], reason: str, actor: str, at: datetime) -> bool:
        """A new version with ``changes`` (only the fields that differ are recorded);
        ``False`` when nothing differs."""
        self.require("revise")
        errors: list[FieldError] = []
        new: dict[str, Any] = {}
        for name, value in changes.items():
            if value is None or name not in REVISABLE:
                continue
            if name == "targets":
                value = _targets(value, errors)
            elif name in ("groups", "services"):
                value = unique_texts(value)
            elif name == "customer":
                value = normalise_customer_id(value)
            elif name in ("title", "vendor", "sla_policy", "notes"):
                value = stripped(value)
                if name == "title" and not value:
                    errors.append(FieldError("title", "must not be empty"))
            if getattr(self, name) != value:
                new[name] = value
        errors += _validity_errors(new.get("valid_from", self.valid_from),
                                   new.get("valid_to", self.valid_to))
        errors += _scope_errors(self.kind, new.get("customer", self.customer),
                                new.get("groups", self.groups), new.get("vendor", self.vendor))
        refuse_fields(errors)
        if not new:
            return False
        self.trigger_event(self.Revised, timestamp=at, actor=actor,
                           agreement_version=self.agreement_version + 1,
                           **{name: new.get(name) for name in REVISABLE},
                           reason=stripped(reason))
        return True

    def terminate(self, *, reason: str, actor: str, at: datetime) -> None:
        self.require("terminate")
        self.trigger_event(self.Terminated, timestamp=at, actor=actor, reason=given(
            "reason", reason, "say why the agreement ends early"))

    def warn_expiry(self, *, today: date, actor: str, at: datetime) -> bool:
        """Records ``ExpiryWarned`` when the agreement ends within 30 days and was not warned
        of this end yet; ``False`` (nothing recorded) otherwise."""
        if not self.expiring(today) or self.expiry_warned_for == self.valid_to:
            return False
        self.trigger_event(self.ExpiryWarned, timestamp=at, actor=actor, valid_to=self.valid_to)
        return True


AgreementDirectory = directory(
    "opsledger.agreement:AgreementDirectory", "opsledger:agreement-directory",
    key="agreement_id", items="agreements", module=__name__,
    doc="""The ids of every agreement in order of concluding (for the lists and the lookups of a
    ticket's agreements), changed in the same transaction as each agreement.""")
