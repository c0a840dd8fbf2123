"""A msgspec mapper for stored events (ADR 0003: chosen by measurement, see bench/encoding.py).

Events are encoded as plain JSON objects (datetimes as RFC 3339 strings, UUIDs as strings,
enums as their values, value objects as objects) and decoded *typed*: for each event class a
msgspec decoder is built from the class's annotations, so a stored event comes back with
``datetime``, ``UUID``, enum and dataclass values, exactly as it was created, without the
library's ``{"_type_": ..., "_data_": ...}`` wrappers.

Upcasting keeps the library's contract: a class with ``class_version > 1`` stores its version
in the state, and ``upcast_vN_vN+1`` static methods turn older shapes into the new one before
the typed conversion.
"""

from __future__ import annotations

import threading
import typing
from functools import cache
from typing import Any, TypedDict
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from application.sealing import PERSONAL_FIELDS, ContactSealer, open_state
from domain.ticket import Ticket

_BASE_FIELDS = frozenset({"originator_id", "originator_version"})

# msgspec (0.22) builds a type's decoding info on first use and caches it on the class before
# it is complete (so recursive types work). A thread that meets the half-built info decodes
# through NULL pointers and the whole process dies with SIGSEGV: seen in `opsledger serve`
# when many requests arrived right after a start (issue 8 crash tests), and reproduced with
# concurrent first decoders of types sharing a nested dataclass. So every msgspec decoder or
# conversion that may build type info is made under this lock (``prepare_types`` for types
# used from many threads: build their info once, up front).
TYPE_INFO_LOCK = threading.Lock()


def prepare_types(*types: Any) -> None:
    """Build (and cache) msgspec's decoding info of ``types`` under the lock, so that later
    concurrent ``msgspec.convert``/``decode`` calls with them only read complete info."""
    with TYPE_INFO_LOCK:
        for t in types:
            msgspec.json.Decoder(t)


class _NoTranscoder(Transcoder):
    """The msgspec mapper encodes whole events itself; nothing goes through a transcoder."""

    def encode(self, obj: Any) -> bytes:  # pragma: no cover - never called
        return msgspec.json.encode(obj)

    def decode(self, data: bytes) -> Any:  # pragma: no cover - never called
        return msgspec.json.decode(data)


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
_raw_decoder = msgspec.json.Decoder()


@cache
def state_type(event_class: type) -> Any:
    """A TypedDict of an event class's fields (without the originator id and version)."""
    hints = typing.get_type_hints(event_class)
    fields = {
        name: hint
        for name, hint in hints.items()
        if name not in _BASE_FIELDS and typing.get_origin(hint) is not typing.ClassVar
    }
    return TypedDict(f"{event_class.__qualname__}State", fields, total=False)  # type: ignore[operator]


@cache
def _decoder(event_class: type) -> msgspec.json.Decoder[Any]:
    with TYPE_INFO_LOCK:
        return msgspec.json.Decoder(state_type(event_class))


@cache
def _partial_decoder(event_class: type, fields: frozenset[str]) -> msgspec.json.Decoder[Any]:
    hints = state_type(event_class).__annotations__
    subset = {name: hint for name, hint in hints.items() if name in fields}
    with TYPE_INFO_LOCK:
        return msgspec.json.Decoder(TypedDict(f"{event_class.__qualname__}Part", subset, total=False))  # type: ignore[operator]


def encode_state(event: Any, sealer: ContactSealer | None = None) -> bytes:
    state = dict(vars(event))
    originator_id = state.pop("originator_id", None)
    first = state.pop("originator_version", None) == 1
    if sealer is not None:
        sealer.seal_state(type(event), state, originator_id, first)
    class_version = getattr(type(event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return _encoder.encode(state)


_FAST: dict[type, Any] = {}  # event class -> typed decode function, for classes at version 1


def decode_state(event_class: type, data: bytes | memoryview) -> dict[str, Any]:
    """Decode a stored state into the typed field values of ``event_class``."""
    fast = _FAST.get(event_class)
    if fast is not None:
        return fast(data)  # type: ignore[no-any-return]
    class_version = getattr(event_class, "class_version", 1)
    if class_version == 1:
        _FAST[event_class] = fast = _decoder(event_class).decode
        return fast(data)  # type: ignore[no-any-return]  # a fresh dict (TypedDict)
    state: dict[str, Any] = _raw_decoder.decode(data)
    from_version = state.pop("class_version", 1)
    while from_version < class_version:
        getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(state)
        from_version += 1
    with TYPE_INFO_LOCK:  # rare (old shapes only); the conversion may build type info
        return dict(msgspec.convert(state, state_type(event_class)))


# (topic, fields) -> (event class, decode function): the hot path of the projection runner.
_ROW_DECODERS: dict[tuple[str, frozenset[str] | None], tuple[type, Any]] = {}


def _row_decoder(topic: str, fields: frozenset[str] | None) -> tuple[type, Any]:
    cls = resolve_topic(topic)
    if fields is not None and getattr(cls, "class_version", 1) == 1:
        decode = _partial_decoder(cls, fields).decode
    else:
        def decode(data: bytes) -> dict[str, Any]:
            return decode_state(cls, data)
    _ROW_DECODERS[topic, fields] = entry = (cls, decode)
    return entry


def _decode_personal(event_class: type, data: bytes, originator_id: Any,
                     sealer: ContactSealer | None, fields: frozenset[str] | None) -> dict[str, Any]:
    """The typed state of an event with personal fields: their sealed values opened (or their
    erased form when the key is destroyed) before the typed conversion (ADR 0034, 0043)."""
    state: dict[str, Any] = _raw_decoder.decode(data)
    from_version = state.pop("class_version", 1)
    class_version = getattr(event_class, "class_version", 1)
    while from_version < class_version:
        getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(state)
        from_version += 1
    open_state(sealer, event_class, state, originator_id)
    if fields is not None:
        state = {k: v for k, v in state.items() if k in fields}
    _decoder(event_class)  # the type's info is built under TYPE_INFO_LOCK before any convert
    return dict(msgspec.convert(state, state_type(event_class)))


# The top-level fields of each event class with personal data: a partial read that asks for
# none of them decodes the fast way (the projections mostly). The description of a routine
# ticket may name its signer (before ADR 0043): it is read with the contact.
_PERSONAL_NAMES: dict[type, frozenset[str]] = {
    cls: frozenset(spec.field for spec in specs) for cls, specs in PERSONAL_FIELDS.items()
} | {Ticket.Registered: frozenset({"contact", "description"})}
# Upcast classes are decoded whole even for a partial read (ADR 0032), so with their personal
# fields, which must be opened first.
_WHOLE = frozenset(cls for cls in PERSONAL_FIELDS if getattr(cls, "class_version", 1) > 1)


class MsgspecMapper(Mapper[Any]):
    """``sealer``: seals personal fields on encode and opens them on decode (ADR 0034); without
    one, events are written in plaintext and sealed values read as erased."""

    def __init__(self, transcoder: Transcoder | None = None,
                 sealer: ContactSealer | None = None, **kwargs: Any) -> None:
        super().__init__(transcoder or _NoTranscoder(), **kwargs)
        self.sealer = sealer

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        stored_state = encode_state(domain_event, self.sealer)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        return self.event_from_row(
            stored_event.topic,
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.state,
        )

    def event_from_row(
        self,
        topic: str,
        originator_id: Any,
        originator_version: int,
        data: bytes,
        fields: frozenset[str] | None = None,
    ) -> DomainEventProtocol[Any]:
        """A domain event from the columns of a stored event (readers that skip the library's
        ``Notification`` objects, e.g. the projection runner, use this directly).

        With ``fields``, only those fields are decoded (a read model that needs a few fields
        of a large event says which); the event then has only those attributes.
        """
        try:
            cls, decode = _ROW_DECODERS[topic, fields]
        except KeyError:
            cls, decode = _row_decoder(topic, fields)
        try:
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            personal = _PERSONAL_NAMES.get(cls)
            if personal is not None and (fields is None or not personal.isdisjoint(fields)
                                         or cls in _WHOLE):
                state = _decode_personal(cls, data, _uuid_text(originator_id), self.sealer, fields)
            else:
                state = decode(data)
        except Exception as e:
            msg = (
                f"Failed to decode stored event with topic '{topic}', "
                f"originator_id '{originator_id}' and "
                f"originator_version {originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        if originator_version == 1 and self.sealer is not None and self.sealer.owners is not None:
            customer = state.get("customer")  # a record's customer: its fields' key (ADR 0043)
            if isinstance(customer, str):
                self.sealer.owners.learn(originator_id, customer)
        state["originator_id"] = originator_id
        state["originator_version"] = originator_version
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event


def _uuid_text(originator_id: Any) -> str:
    """The canonical text of an originator id (a ``UUID``, or hex text from SQLite rows)."""
    return str(originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id)))
