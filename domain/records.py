"""What the records' aggregates share as mechanics, not as rules: the directory a kind of record
keeps of its ids (or slugs), in the order they were added, the versions of a record kept
by slug (``VersionedRecord``), the base of every record's events (``RecordEvent``: its
``actor``) and the ``apply`` of an event that only copies its fields (``CopiesFields``, ADR
0072).

A directory is one aggregate with a fixed id, changed in the same transaction as the record it
lists, so listing needs no read model and two records cannot take one place. ``directory``
writes the class once for every kind: its topic ``opsledger.<kind>:<Name>`` and its events'
topics ``<topic>.Event``, ``<topic>.Opened`` and ``<topic>.Listed`` (whose one field is ``key``)
are the stored contract, exactly as they were written out by hand before.

Pure: the standard library and ``eventsourcing.domain`` only.
"""

from __future__ import annotations

import functools
import types
from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


class Directory:
    """The behaviour of a directory aggregate (a mixin): ``ITEMS`` names its tuple of ids,
    ``KEY`` the ``Listed`` event's field that joins it. A directory that keeps more (an index
    by ticket, two lists) subclasses this and overrides ``__init__``, ``add`` and ``listed``."""

    ID: ClassVar[UUID]
    ITEMS: ClassVar[str]
    KEY: ClassVar[str]
    Listed: ClassVar[type[Aggregate.Event]]
    Opened: ClassVar[type[Aggregate.Created]]

    def __init__(self) -> None:
        setattr(self, self.ITEMS, ())

    @classmethod
    def open(cls, at: datetime) -> Any:
        return cls._create(cls.Opened, id=cls.ID, timestamp=at)  # type: ignore[attr-defined]

    def add(self, item: str, at: datetime) -> None:
        """Lists ``item`` once (adding it again records nothing)."""
        if item not in getattr(self, self.ITEMS):
            self.trigger_event(self.Listed, timestamp=at,  # type: ignore[attr-defined]
                               **{self.KEY: item})

    def listed(self, event: Any) -> None:
        """Applies a ``Listed`` event: its ``KEY`` field joins the end of the ids."""
        setattr(self, self.ITEMS, (*getattr(self, self.ITEMS), getattr(event, self.KEY)))


class TicketIndex(Directory):
    """A directory whose ``Listed`` events also name each record's ticket (``ticket_id``);
    its ``__init__`` and ``listed`` keep what the kind looks up."""

    def add(self, item: str, ticket_id: str, at: datetime) -> None:  # type: ignore[override]
        if item not in getattr(self, self.ITEMS):
            self.trigger_event(self.Listed, timestamp=at,  # type: ignore[attr-defined]
                               **{self.KEY: item, "ticket_id": ticket_id})


class VersionedRecord:
    """``define`` and ``redefine`` of a record kept by slug (calendars, SLA policies, catalogue
    services, standard-change models): each version's event carries the whole definition, and
    an identical definition records nothing. The record class supplies ``Defined``,
    ``Redefined``, ``id_for``, ``check_slug`` (the 422 of a slug it refuses) and
    ``definition``; ``event_fields`` gives a definition's fields in its events."""

    definition: Any

    @staticmethod
    def event_fields(definition: Any) -> dict[str, Any]:
        return definition.as_fields()  # type: ignore[no-any-return]

    @classmethod
    def define(cls, slug: str, definition: Any, *, actor: str, at: datetime) -> Any:
        cls.check_slug(slug)  # type: ignore[attr-defined]
        return cls._create(  # type: ignore[attr-defined]
            cls.Defined, id=cls.id_for(slug), timestamp=at, slug=slug,  # type: ignore[attr-defined]
            actor=actor, **cls.event_fields(definition))

    def redefine(self, definition: Any, *, actor: str, at: datetime) -> bool:
        """Records a new version; ``False`` (nothing recorded) when nothing changed."""
        if definition == self.definition:
            return False
        self.trigger_event(  # type: ignore[attr-defined]
            self.Redefined, timestamp=at, actor=actor,  # type: ignore[attr-defined]
            **self.event_fields(definition))
        return True


class RecordEvent(Aggregate.Event):
    """The base of a record's events: each aggregate's ``Event`` subclasses it with its own
    ``TOPIC`` (ADR 0072). Every event says who recorded it (``actor``); the library's
    ``timestamp`` is when."""

    actor: str


class CopiesFields:
    """A mixin of events whose ``apply`` only sets the record's attributes named as the event's
    own fields (those the event class declares, not ``actor``) to their values (ADR 0072):
    ``class CommanderAssigned(CopiesFields, Event)`` with ``commander: str`` sets
    ``record.commander``. An event that does anything more writes its own ``apply``."""

    def apply(self, record: Any) -> None:
        for name in _own_fields(type(self)):
            setattr(record, name, getattr(self, name))


@functools.cache
def _own_fields(event_class: type) -> tuple[str, ...]:
    return tuple(event_class.__dict__.get("__annotations__", ()))


class _Listed:
    def apply(self, directory: Any) -> None:
        directory.listed(self)


def directory(topic: str, id_name: str, *, module: str, doc: str, key: str = "",
              items: str = "", fields: tuple[str, ...] = (),
              behaviour: type[Directory] = Directory) -> type[Any]:
    """The directory aggregate class of ``topic`` (``opsledger.<kind>:<Name>``): its id is
    ``uuid5(NAMESPACE_URL, id_name)``, its ids are the tuple ``items``, each ``Listed`` event
    carries one in its field ``key``; ``fields``, when given, are the ``Listed`` event's text
    fields instead (a ``behaviour`` that overrides ``add`` and ``listed`` needs neither ``key``
    nor ``items``); ``module`` is the ``__name__`` of the module that names it."""
    name = topic.rpartition(":")[2]

    def nested(event_name: str, bases: tuple[type, ...], **body: Any) -> type:
        body |= {"TOPIC": f"{topic}.{event_name}", "__module__": module,
                 "__qualname__": f"{name}.{event_name}"}
        return types.new_class(event_name, bases, exec_body=lambda ns: ns.update(body))

    event = nested("Event", (Aggregate.Event,))
    body = {
        "__doc__": doc, "__module__": module, "__qualname__": name, "TOPIC": topic,
        "ID": uuid5(NAMESPACE_URL, id_name), "ITEMS": items, "KEY": key, "Event": event,
        "Opened": nested("Opened", (Aggregate.Created,)),
        "Listed": nested("Listed", (_Listed, event),
                         __annotations__=dict.fromkeys(fields or (key,), "str")),
    }
    return types.new_class(name, (behaviour, Aggregate), exec_body=lambda ns: ns.update(body))
