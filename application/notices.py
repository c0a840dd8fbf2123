"""Notices decided from events (issue 19 item 4, ADR 0059): the process manager of the outbox.

It follows the event log like a read model (the projection runner drives it through the
``View`` protocol: ``position``, ``apply``, ``reset``, ``close``) with its own tracked
position. For each event that concerns somebody (a ticket registered, assigned, waiting for the
customer, resolved, a public note by staff, an SLA warning, breach or escalation, a change's
window, an announcement) it decides the notices -- who gets what on which channel, by the
rules (``Rules``: built-in defaults, overridden per customer and group by a rules file) -- and
stores them in the outbox **in the same transaction as it moves its position**
(``NoticeOutbox.store``): a crash before the commit replays the batch, after it the notices
are there; a replayed batch (or a second runner racing on it) stores nothing twice, because a
notice's id derives from (event position, rule, recipient, channel).

A notice holds references, not personal data: the recipient is a role (``contact``: the
ticket's contact, read when it is sent; ``user:<id>``: a user's profile e-mail;
``group:<name>``/``cab``: the rules' robots and addresses; ``address:<mail>``: an address
the rules configure; ``webhook``: the generic webhook). What it says is rendered when it is
sent, from the event at its position and the record as it is then (``adapters/channels``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.change import Change
from domain.ticket import Author, Ticket, Visibility

R = TypeVar("R")

NAME = "notices"
ANNOUNCEMENT_PUBLISHED = "opsledger.announcement:Announcement.Published"  # ADR 0060
ANNOUNCEMENT_WITHDRAWN = "opsledger.announcement:Announcement.Withdrawn"  # the same people told
# A major incident's communication plan (ADR 0067): declared, each update, closed.
MAJOR_INCIDENT_NOTICES = {
    "opsledger.major_incident:MajorIncident.Declared": "major_incident",
    "opsledger.major_incident:MajorIncident.UpdatePosted": "major_incident_update",
    "opsledger.major_incident:MajorIncident.Closed": "major_incident_closed",
}

#: Every kind of notice, and who gets it unless the rules say otherwise.
DEFAULT_NOTICES: dict[str, tuple[str, ...]] = {
    "registered": ("contact",),
    "assigned": ("assignee", "group"),
    "waiting_customer": ("contact",),
    "resolved": ("contact",),
    "public_note": ("contact",),
    "sla_warning": ("manager", "expert", "group"),
    "sla_breach": ("manager", "expert", "group"),
    "escalation": ("manager", "expert", "group", "webhook"),
    "change_scheduled": ("cab", "customer_contacts"),
    "change_approved": ("cab", "customer_contacts"),
    "announcement": ("customer_contacts",),
    "announcement_withdrawn": ("customer_contacts",),
    "major_incident": ("customer_contacts", "informed"),  # ADR 0067
    "major_incident_update": ("customer_contacts", "informed"),
    "major_incident_closed": ("customer_contacts", "informed"),
}
KINDS = tuple(DEFAULT_NOTICES)
ROLES = frozenset({"contact", "assignee", "group", "manager", "expert", "customer_contacts",
                   "cab", "webhook", "informed"})  # informed: a major incident's staff
ROBOTS = ("wecom", "dingtalk", "webhook")
CHANNELS = ("email", *ROBOTS)
LANGUAGES = ("zh-CN", "en")


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """Where a group's (or the CAB's) notices go besides its members: addresses and robots
    (``wecom``/``dingtalk``/``webhook``: a URL; ``dingtalk_secret``: the robot's signing
    secret)."""

    addresses: tuple[str, ...] = ()
    wecom: str = ""
    dingtalk: str = ""
    dingtalk_secret: str = ""
    webhook: str = ""

    def robots(self) -> tuple[str, ...]:
        return tuple(r for r in ROBOTS if getattr(self, r))


@dataclass(frozen=True)
class CustomerRules:
    language: str = ""
    addresses: tuple[str, ...] = ()  # mailed with the customer's contacts (announcements)
    notices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    """Who gets what (a rules file, TOML or JSON, ``OPSLEDGER_NOTICE_RULES``; ADR 0059)."""

    language: str = "zh-CN"
    notices: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_NOTICES))
    customers: Mapping[str, CustomerRules] = field(default_factory=dict)
    groups: Mapping[str, Target] = field(default_factory=dict)  # "*": any other group
    cab: Target = Target()
    systems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # system -> customers
    # A rule's own language (e.g. the staff's SLA notices in zh-CN whatever the customer's).
    languages: Mapping[str, str] = field(default_factory=dict)
    html: bool = False  # mails carry an HTML alternative beside the text

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Rules:
        """Rules from a parsed file; unknown kinds, roles or languages are refused."""
        def roles(where: str, value: Any) -> tuple[str, ...]:
            items = tuple(value or ())
            unknown = [r for r in items if r not in ROLES]
            if unknown:
                raise RulesError(f"{where}: unknown recipient(s) {unknown}; known: {sorted(ROLES)}")
            return items

        def notices(where: str, value: Any) -> dict[str, tuple[str, ...]]:
            value = dict(value or {})
            unknown = [k for k in value if k not in DEFAULT_NOTICES]
            if unknown:
                raise RulesError(f"{where}: unknown notice(s) {unknown}; known: {list(KINDS)}")
            return {k: roles(f"{where}.{k}", v) for k, v in value.items()}

        def language(where: str, value: Any) -> str:
            if value and value not in LANGUAGES:
                raise RulesError(f"{where}: language must be one of {LANGUAGES}, not {value!r}")
            return str(value or "")

        def target(where: str, value: Any) -> Target:
            value = dict(value or {})
            known = {"addresses", *ROBOTS, "dingtalk_secret"}
            if set(value) - known:
                raise RulesError(f"{where}: unknown key(s) {sorted(set(value) - known)}")
            return Target(addresses=tuple(value.pop("addresses", ()) or ()),
                          **{k: str(v) for k, v in value.items()})

        extra = set(data) - {"language", "notices", "customers", "groups", "cab", "systems",
                             "languages", "html"}
        if extra:
            raise RulesError(f"unknown key(s) {sorted(extra)}")
        own_languages = dict(data.get("languages") or {})
        unknown = [k for k in own_languages if k not in DEFAULT_NOTICES]
        if unknown:
            raise RulesError(f"languages: unknown notice(s) {unknown}; known: {list(KINDS)}")
        customers = {
            str(name): CustomerRules(language=language(f"customers.{name}.language",
                                                       c.get("language")),
                                     addresses=tuple(c.get("addresses") or ()),
                                     notices=notices(f"customers.{name}.notices", c.get("notices")))
            for name, c in dict(data.get("customers") or {}).items()}
        return cls(
            language=language("language", data.get("language")) or "zh-CN",
            notices={**DEFAULT_NOTICES, **notices("notices", data.get("notices"))},
            customers=customers,
            groups={str(g): target(f"groups.{g}", t) for g, t in dict(data.get("groups") or {}).items()},
            cab=target("cab", data.get("cab")),
            systems={str(s): tuple(c) for s, c in dict(data.get("systems") or {}).items()},
            languages={str(k): language(f"languages.{k}", v) for k, v in own_languages.items()},
            html=bool(data.get("html", False)),
        )

    def recipients(self, kind: str, customer: str | None) -> tuple[str, ...]:
        own = self.customers.get(customer or "")
        if own is not None and kind in own.notices:
            return own.notices[kind]
        return tuple(self.notices.get(kind, ()))

    def language_of(self, customer: str | None, rule: str = "") -> str:
        """The rule's own language, else the customer's, else the default."""
        if self.languages.get(rule):
            return self.languages[rule]
        own = self.customers.get(customer or "")
        return (own.language if own is not None and own.language else "") or self.language

    def robots(self) -> bool:
        """Whether any group (or the CAB) has a robot or webhook."""
        return bool(self.cab.robots()) or any(t.robots() for t in self.groups.values())

    def group(self, name: str | None) -> Target | None:
        if not name:
            return None
        return self.groups.get(name) or self.groups.get("*")


@dataclass(frozen=True)
class Notice:
    """One notice to send: to one recipient on one channel about one event."""

    id: str
    position: int  # the event's position in the log
    rule: str  # the kind of notice (``DEFAULT_NOTICES``)
    recipient: str  # a role reference (see the module's text), never an address from a record
    channel: str  # email | wecom | dingtalk | webhook
    record_id: str  # the ticket's (change's, announcement's) id
    number: str  # SR-… / CHG-… / the announcement's number
    language: str


def notice_id(position: int, rule: str, recipient: str, channel: str) -> str:
    """The deterministic id: the same event, rule, recipient and channel give the same id."""
    text = f"{position}\x1f{rule}\x1f{recipient}\x1f{channel}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class NoticeOutbox(Protocol):
    """The outbox with the tracked position of its process manager (``adapters/channels``)."""

    tracking: Any  # the position object the runner knows (``projections.follower``)

    def position(self) -> int: ...

    def store(self, notices: Sequence[Notice], start: int, end: int) -> None:
        """Stores the notices not stored yet and moves the position from ``start`` to
        ``end``, in one transaction; ``TrackingConflict`` when the position is not ``start``."""
        ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Subject:
    """What the decisions know of the record an event belongs to."""

    record_id: str
    number: str
    customer: str | None
    group: str | None = None
    assignee: str | None = None


class Directory(Protocol):
    """The reads the decisions need (the service desk, ``desk_directory``)."""

    def ticket(self, record_id: UUID) -> Ticket | None: ...

    def change(self, record_id: UUID) -> Change | None: ...

    def escalation_contacts(self, ticket: Ticket) -> tuple[str, str]: ...

    def requesters(self, customer: str) -> list[str]: ...

    def announcement(self, record_id: UUID) -> Any | None: ...


def desk_directory(desk: Any) -> Directory:
    """The ``Directory`` over a ``ServiceDesk``."""
    from application.identities import list_users
    from domain.identity import Role

    def loaded(record_id: UUID, kind: type[R]) -> R | None:
        """The record of ``record_id`` if it is a ``kind`` (``None``: none, or another kind)."""
        record = desk.load(record_id)
        return record if isinstance(record, kind) else None

    class _Desk:
        def ticket(self, record_id: UUID) -> Ticket | None:
            return loaded(record_id, Ticket)

        def change(self, record_id: UUID) -> Change | None:
            return loaded(record_id, Change)

        def escalation_contacts(self, ticket: Ticket) -> tuple[str, str]:
            return desk.sla.escalation_contacts(ticket) if desk.sla is not None else ("", "")

        def announcement(self, record_id: UUID) -> Any | None:
            from domain.announcement import Announcement

            return loaded(record_id, Announcement)

        def major_incident(self, record_id: UUID) -> Any | None:
            from domain.major_incident import MajorIncident

            return loaded(record_id, MajorIncident)

        def requesters(self, customer: str) -> list[str]:
            return [u.user for u in list_users(desk, role=Role.REQUESTER.value, customer=customer)
                    if u.active and "@" in (getattr(u, "email", "") or "")]

    return _Desk()


class NoticeDecider:
    """The process manager of the outbox, as a follower of the log (``projections.base.View``).

    ``channels``: the channels that can send (``email`` only with an SMTP relay, ``webhook``
    only with a URL for the generic webhook); robots come from the rules."""

    name = NAME
    topics = frozenset({
        Ticket.Registered.TOPIC, Ticket.Assigned.TOPIC, Ticket.CustomerAwaited.TOPIC,
        Ticket.Resolved.TOPIC, Ticket.CommentAdded.TOPIC, Ticket.SlaWarningRaised.TOPIC,
        Ticket.SlaBreached.TOPIC, Ticket.Escalated.TOPIC, Change.Planned.TOPIC,
        Change.ConsentRecorded.TOPIC, Change.EmergencyApproved.TOPIC, ANNOUNCEMENT_PUBLISHED,
        ANNOUNCEMENT_WITHDRAWN, *MAJOR_INCIDENT_NOTICES,
    })

    def __init__(self, outbox: NoticeOutbox, directory: Directory, rules: Callable[[], Rules],
                 channels: Iterable[str]) -> None:
        self.outbox = outbox
        self.directory = directory
        self.rules = rules
        self.channels = frozenset(channels)
        self.tracking = outbox.tracking  # the runner groups followers by their position's store
        self.stored: Callable[[], None] | None = None  # told after notices were stored (the sender)
        self._pending = False  # notices stored in the runner's transaction, not yet told

    def position(self) -> int:
        return self.outbox.position()

    def _decided(self, events: Sequence[Any]) -> list[Notice]:
        rules = self.rules()
        notices: dict[str, Notice] = {}
        if not self.channels and not rules.robots():
            events = ()  # nothing could send a notice: decide none (the position moves on)
        for positioned in events:
            for notice in self.decide(positioned.position, positioned.event, rules):
                notices.setdefault(notice.id, notice)
        return list(notices.values())

    def apply(self, events: Sequence[Any], *, start: int, end: int) -> None:
        notices = self._decided(events)
        self.outbox.store(notices, start, end)
        if notices and self.stored is not None:
            self.stored()

    def apply_in(self, cur: Any, events: Sequence[Any], *, start: int, end: int) -> None:
        """``apply`` inside the runner's transaction of the read models of the same database
        (ADR 0041: one transaction per pass); ``committed`` wakes the sender after it."""
        notices = self._decided(events)
        self.outbox.store_in(cur, notices, start, end)  # type: ignore[attr-defined]
        self._pending = self._pending or bool(notices)

    def committed(self) -> None:
        if self._pending and self.stored is not None:
            self._pending = False
            self.stored()

    def reset(self) -> None:
        self.outbox.reset()

    def close(self) -> None:
        self.outbox.close()

    # -------------------------------------------------------------- decisions

    def decide(self, position: int, e: Any, rules: Rules) -> list[Notice]:
        """The notices of one event (an event of no interest: none)."""
        kind, subject, people = self._what(e)
        if kind is None or subject is None:
            return []
        out: list[Notice] = []
        for role in rules.recipients(kind, subject.customer):
            for recipient, channel, customer in self._expand(role, kind, subject, people, rules):
                if channel not in self.channels and channel not in ROBOTS:
                    continue
                if channel == "webhook" and recipient.startswith("user:") and "webhook" not in self.channels:
                    continue
                out.append(Notice(id=notice_id(position, kind, recipient, channel),
                                  position=position, rule=kind, recipient=recipient,
                                  channel=channel, record_id=subject.record_id,
                                  number=subject.number,
                                  language=rules.language_of(customer or subject.customer,
                                                             kind)))
        return out

    def _what(self, e: Any) -> tuple[str | None, Subject | None, dict[str, Any]]:
        """The kind of notice, its record and the people the event itself names."""
        topic = type(e).TOPIC if hasattr(type(e), "TOPIC") else ""
        if topic == ANNOUNCEMENT_PUBLISHED:
            subject = Subject(str(e.originator_id), str(getattr(e, "number", "") or ""), None)
            return "announcement", subject, {"customers": tuple(getattr(e, "customers", ()) or ())}
        if topic == ANNOUNCEMENT_WITHDRAWN:  # the maintenance is off: tell whom it was announced to
            announcement = self.directory.announcement(e.originator_id)
            if announcement is None:
                return None, None, {}
            subject = Subject(str(e.originator_id), announcement.number, None)
            return "announcement_withdrawn", subject, {"customers": announcement.customers}
        if topic in MAJOR_INCIDENT_NOTICES:  # the plan of the incident (ADR 0067)
            incident = self._major_incident(e)
            if incident is None:
                return None, None, {}
            subject = Subject(str(e.originator_id), incident.number, None)
            return MAJOR_INCIDENT_NOTICES[topic], subject, {
                "customers": tuple(incident.customers), "informed": tuple(incident.informed)}
        if isinstance(e, Change.Event) or isinstance(e, Change.Requested):
            change = self.directory.change(e.originator_id)
            if change is None:
                return None, None, {}
            kind = "change_scheduled" if isinstance(e, Change.Planned) else "change_approved"
            subject = Subject(str(change.id), change.number, None)
            return kind, subject, {"system": getattr(change, "affected_system", "")}
        ticket = self.directory.ticket(e.originator_id)
        if ticket is None:
            return None, None, {}
        subject = Subject(str(ticket.id), ticket.number, ticket.customer,
                          group=ticket.group, assignee=ticket.assignee)
        if isinstance(e, Ticket.Registered):
            return "registered", subject, {}
        if isinstance(e, Ticket.Assigned):
            return "assigned", Subject(subject.record_id, subject.number, subject.customer,
                                       group=e.group, assignee=e.assignee), {}
        if isinstance(e, Ticket.CustomerAwaited):
            return "waiting_customer", subject, {}
        if isinstance(e, Ticket.Resolved):
            return "resolved", subject, {}
        if isinstance(e, Ticket.CommentAdded):
            if e.visibility == Visibility.PUBLIC.value and e.author == Author.STAFF.value:
                return "public_note", subject, {}
            return None, None, {}
        if isinstance(e, Ticket.Escalated):
            return "escalation", subject, {"manager": e.manager, "expert": e.expert}
        if isinstance(e, (Ticket.SlaWarningRaised, Ticket.SlaBreached)):
            manager, expert = self.directory.escalation_contacts(ticket)
            kind = "sla_warning" if isinstance(e, Ticket.SlaWarningRaised) else "sla_breach"
            return kind, subject, {"manager": manager, "expert": expert}
        return None, None, {}

    def _major_incident(self, e: Any) -> Any | None:
        """The incident an event belongs to (the declaration carries its own plan)."""
        if hasattr(e, "customers") and hasattr(e, "informed"):
            return e
        load = getattr(self.directory, "major_incident", None)
        return load(e.originator_id) if load is not None else None

    def _expand(self, role: str, kind: str, subject: Subject, people: dict[str, Any],
                rules: Rules) -> list[tuple[str, str, str | None]]:
        """(recipient, channel, the recipient's customer if not the record's) of one role."""
        if role == "contact":
            return [("contact", "email", None)]
        if role == "assignee":
            return [(f"user:{subject.assignee}", "email", None)] if subject.assignee else []
        if role == "informed":  # a major incident's staff (ADR 0067)
            return [(f"user:{who}", "email", None) for who in people.get("informed", ())]
        if role in ("manager", "expert"):
            who = people.get(role)
            return [(f"user:{who}", "email", None)] if who else []
        if role == "webhook":
            if kind == "escalation":  # one per person, the JSON of ADR 0016
                return [(f"user:{people[r]}", "webhook", None) for r in ("manager", "expert")
                        if people.get(r)]
            return [("webhook", "webhook", None)]
        if role in ("group", "cab"):
            target = rules.cab if role == "cab" else rules.group(subject.group)
            if target is None:
                return []
            name = "cab" if role == "cab" else f"group:{subject.group}"
            return ([(f"address:{a}", "email", None) for a in target.addresses]
                    + [(name, robot, None) for robot in target.robots()])
        if role == "customer_contacts":
            customers = list(people.get("customers") or ())
            if subject.customer:
                customers.append(subject.customer)
            if people.get("system"):
                customers.extend(rules.systems.get(people["system"], ()))
            out: list[tuple[str, str, str | None]] = []
            for customer in dict.fromkeys(customers):
                out.extend((f"user:{u}", "email", customer)
                           for u in self.directory.requesters(customer))
                own = rules.customers.get(customer)
                if own is not None:
                    out.extend((f"address:{a}", "email", customer) for a in own.addresses)
            return out
        return []
