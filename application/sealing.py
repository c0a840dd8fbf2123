"""Sealing the personal data of stored events with per-customer keys (ADR 0034, ADR 0043).

The mapper (``application.encoding``) calls ``ContactSealer.seal_state`` when it encodes an
event that carries personal data and ``open_state`` when it decodes one, so the stored bytes
hold only AES-256-GCM ciphertext while the aggregates, views and history work with the plain
values. The domain never sees a key. ``PERSONAL_FIELDS`` lists every field of every event that
holds personal data, and whose key seals it: a customer's (the ``owner`` field of the event,
or the customer the event's record belongs to, found by ``RecordOwners``). Destroying a
customer's key (an erasure) turns every stored personal value of that customer into its
erased form (``[erased]``, ``ERASED_CONTACT``) on every later read, without changing one
stored byte (the hash chain over them stays valid).

The associated data binds each ciphertext to its event's originator id, key version and field,
so a sealed value copied into another event or field does not open.

Keys are cached for ``ttl`` seconds: an erasure in this process forgets them at once; another
process sharing the database stops opening them within ``ttl``.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.ports import KeyStore
from domain.attachment import Attachment
from domain.change import Change
from domain.complaint import Complaint
from domain.customer import customer_id
from domain.identity import User
from domain.privacy import (ROUTINE_SIGNER, ERASED_TEXT, names_routine_signer,  # noqa: F401
                            without_routine_signer)
from domain.project import Project
from domain.ticket import ERASED_CONTACT, Ticket

ALGORITHM = "AES-256-GCM"
ERASED_STATE: dict[str, Any] = msgspec.to_builtins(ERASED_CONTACT)


@dataclass(frozen=True)
class PersonalField:
    """A field of an event class holding personal data: ``path`` names it (a field of a
    nested object after the first name); ``owner`` the field of the same event naming the
    customer whose key seals it, or ``None`` for the customer of the event's record (its
    ticket's, project's, or a change's origin's: ``RecordOwners``). A value whose customer is
    ``None`` (a staff user's name) is not a customer's personal data and stays plain; so does
    an empty one. ``erased`` is what the value reads as once the key is destroyed."""

    path: tuple[str, ...]
    owner: str | None = None
    erased: Any = ERASED_TEXT

    @property
    def field(self) -> str:
        return self.path[0]

    @property
    def aad_name(self) -> str:
        # The contact, sealed since ADR 0034, keeps the associated data it was sealed with.
        return "" if self.path == ("contact",) else ".".join(self.path)


def _fields(*fields: PersonalField) -> tuple[PersonalField, ...]:
    return fields


# Which stored events carry personal data (DOMAIN §7; the list is in ADR 0043). A new one is
# added here, nowhere else; ``tests/application/test_sealing.py`` checks that every field named
# here exists on its event.
PERSONAL_FIELDS: dict[type, tuple[PersonalField, ...]] = {
    Ticket.Registered: _fields(PersonalField(("contact",), owner="customer",
                                             erased=ERASED_STATE)),
    Ticket.Assigned: _fields(PersonalField(("interface_person",))),
    Ticket.AcceptanceConfirmed: _fields(PersonalField(("acceptance", "signer"))),
    Ticket.AcceptanceRejected: _fields(PersonalField(("acceptance", "signer"))),
    Ticket.FeedbackGiven: _fields(PersonalField(("feedback", "comment"))),
    Ticket.InformationAdded: _fields(PersonalField(("information",))),  # ADR 0052
    Ticket.CommentAdded: _fields(PersonalField(("body",)), PersonalField(("sender",))),  # 0055
    Ticket.VisitLeft: _fields(PersonalField(("sheet", "signer"))),  # service sheet, ADR 0064
    Attachment.Uploaded: _fields(PersonalField(("filename",), owner="owner")),  # ADR 0056
    Project.RoutineRecorded: _fields(PersonalField(("signer",))),
    Project.SurveyRecorded: _fields(PersonalField(("comment",))),
    Project.Accepted: _fields(PersonalField(("signer",))),
    Change.CustomerReviewed: _fields(PersonalField(("review", "reviewer")),
                                     PersonalField(("review", "comment"))),
    Change.ConsentRecorded: _fields(PersonalField(("consent", "given_by"))),
    Change.Closed: _fields(PersonalField(("confirmed_by",))),
    User.Registered: _fields(PersonalField(("name",), owner="customer"),
                             PersonalField(("email",), owner="customer")),  # ADR 0059
    User.Updated: _fields(PersonalField(("name",), owner="customer"),
                          PersonalField(("email",), owner="customer")),
    Complaint.Filed: _fields(PersonalField(("contact",), owner="customer",
                                           erased=ERASED_STATE)),  # the complainant, 0066
}
PERSONAL_TOPICS = tuple(cls.TOPIC for cls in PERSONAL_FIELDS)  # type: ignore[attr-defined]


def key_id_for(customer: str) -> str:
    """The key id of a customer: its customer uuid (no name in the key table)."""
    return str(customer_id(customer))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and "sealed" in value


def _aad(originator_id: Any, key_id: str, version: int, name: str = "") -> bytes:
    base = f"opsledger:{originator_id}:{key_id}:{version}"
    return (base if not name else f"{base}:{name}").encode()


def _get(state: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = state
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _set(state: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for name in path[:-1]:
        state = state[name]
    state[path[-1]] = value


def personal_values(event_class: type, state: dict[str, Any]
                    ) -> Iterator[tuple[PersonalField, Any]]:
    """The non-empty personal values of a raw (JSON) state, with their field."""
    for spec in PERSONAL_FIELDS.get(event_class, ()):
        value = _get(state, spec.path)
        if value is not None and value != "":
            yield spec, value


def routine_description(state: dict[str, Any]) -> bool:
    """Whether a ``Ticket.Registered`` state is a routine ticket whose description names the
    run's signer (written before ADR 0043)."""
    return names_routine_signer(state.get("source"), state.get("description"))


class RecordOwners:
    """The customer a record belongs to, from its first stored event: a ticket's or project's
    ``customer``; a change's origin's customer (a problem's: that of the first ticket it was
    recorded from); ``None`` for a record of no customer. Owners never change, so they are
    cached (bounded); records not stored yet are not (their first event may be in the batch
    being encoded: ``learn`` is told its customer first).

    ``first(originator_id)`` answers the (topic, raw state bytes) of the record's first event,
    or ``None``."""

    MAX = 200_000
    DEPTH = 8  # a change of a change of ... : far fewer in practice

    def __init__(self, first: Callable[[UUID], tuple[str, bytes] | None]) -> None:
        self.first = first
        self._owners: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def learn(self, originator_id: Any, customer: str | None) -> None:
        key = _uuid(originator_id)
        with self._lock:
            if len(self._owners) >= self.MAX:
                self._owners.clear()
            self._owners[str(key)] = customer

    def __call__(self, originator_id: Any, depth: int = 0) -> str | None:
        uuid = _uuid(originator_id)
        key = str(uuid)
        try:
            return self._owners[key]
        except KeyError:
            pass
        found = self.first(uuid)
        if found is None or depth > self.DEPTH:
            return None
        return self.from_first(uuid, msgspec.json.decode(found[1]), depth)

    def from_first(self, originator_id: Any, state: dict[str, Any], depth: int = 0) -> str | None:
        """The owner of a record from its first event's raw state (learnt)."""
        owner: str | None = None
        customer = state.get("customer")
        origin, tickets = state.get("origin"), state.get("tickets")
        if isinstance(customer, str):
            owner = customer
        elif isinstance(origin, dict) and origin.get("id"):
            owner = self(origin["id"], depth + 1)
        elif isinstance(tickets, list) and tickets:
            owner = self(tickets[0], depth + 1)
        self.learn(originator_id, owner)
        return owner


def _uuid(value: Any) -> UUID:
    """An originator id (a ``UUID``, its text, or hex text from SQLite rows) as a ``UUID``."""
    return value if isinstance(value, UUID) else UUID(str(value))


def record_owners(desk: Any) -> RecordOwners:
    """``RecordOwners`` over a ``ServiceDesk``'s recorder (its first event, read raw)."""

    def first(originator_id: UUID) -> tuple[str, bytes] | None:
        found = desk.recorder.select_events(originator_id, lte=1, limit=1)
        if not found:
            return None
        data, mapper = found[0].state, desk.mapper
        if mapper.cipher:
            data = mapper.cipher.decrypt(data)
        if mapper.compressor:
            data = mapper.compressor.decompress(data)
        return found[0].topic, bytes(data)

    return RecordOwners(first)


class MemoryKeyStore:
    """Keys in a dict: for the in-memory store and tests (keys live as long as the events)."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, int], bytes | None] = {}
        self._lock = threading.Lock()

    def current(self, key_id: str) -> tuple[int, bytes]:
        with self._lock:
            versions = [v for (k, v) in self._keys if k == key_id]
            live = [v for v in versions if self._keys[key_id, v] is not None]
            if live:
                return live[-1], self._keys[key_id, live[-1]]  # type: ignore[return-value]
            version = max(versions, default=0) + 1
            self._keys[key_id, version] = key = AESGCM.generate_key(bit_length=256)
            return version, key

    def get(self, key_id: str, version: int) -> bytes | None:
        return self._keys.get((key_id, version))

    def destroy(self, key_id: str) -> tuple[int, ...]:
        with self._lock:
            versions = [v for (k, v) in self._keys if k == key_id]
            live = tuple(v for v in versions if self._keys[key_id, v] is not None)
            for v in live:
                self._keys[key_id, v] = None
            if not versions:  # a tombstone: the erasure covers plaintext of before sealing
                self._keys[key_id, 1] = None
            return live

    def erased(self, key_id: str) -> bool:
        return any(k == key_id and key is None for (k, _), key in self._keys.items())


class ContactSealer:
    """Seals and opens the personal fields of stored events with their customer's key (the
    name is from ADR 0034, when the contact was the only one). ``owners`` finds the customer
    of a record for fields whose event does not name it; without it those stay plain."""

    def __init__(self, keys: KeyStore, ttl: float = 30.0,
                 owners: RecordOwners | None = None) -> None:
        self.keys = keys
        self.ttl = ttl
        self.owners = owners
        # Ciphers (not raw keys) are cached: building one per event costs more than the AES.
        self._current: dict[str, tuple[int, AESGCM, float]] = {}
        self._opened: dict[tuple[str, int], tuple[AESGCM, float]] = {}
        self._destroyed: set[tuple[str, int]] = set()
        self._erased: dict[str, tuple[bool, float]] = {}

    def _current_key(self, key_id: str) -> tuple[int, AESGCM]:
        hit = self._current.get(key_id)
        if hit is not None and time.monotonic() - hit[2] < self.ttl:
            return hit[0], hit[1]
        version, key = self.keys.current(key_id)
        self._current[key_id] = (version, AESGCM(key), time.monotonic())
        return version, self._current[key_id][1]

    def _key(self, key_id: str, version: int) -> AESGCM | None:
        if (key_id, version) in self._destroyed:
            return None
        hit = self._opened.get((key_id, version))
        if hit is not None and time.monotonic() - hit[1] < self.ttl:
            return hit[0]
        key = self.keys.get(key_id, version)
        if key is None:
            self._destroyed.add((key_id, version))
            return None
        self._opened[key_id, version] = (cipher := AESGCM(key), time.monotonic())
        return cipher

    def erased(self, key_id: str) -> bool:
        """Whether the customer ``key_id`` had an erasure (cached for ``ttl`` seconds)."""
        hit = self._erased.get(key_id)
        if hit is not None and (hit[0] or time.monotonic() - hit[1] < self.ttl):
            return hit[0]
        erased = self.keys.erased(key_id)
        self._erased[key_id] = (erased, time.monotonic())
        return erased

    def forget(self, key_id: str) -> None:
        """Drops cached keys of ``key_id`` (after they were destroyed)."""
        self._current.pop(key_id, None)
        self._erased.pop(key_id, None)
        for entry in [e for e in self._opened if e[0] == key_id]:
            del self._opened[entry]

    def owner(self, spec: PersonalField, state: dict[str, Any], originator_id: Any) -> str | None:
        """The customer whose key seals ``spec`` of this event (``None``: no customer's)."""
        if spec.owner is not None:
            value = state.get(spec.owner)
            return value if isinstance(value, str) and value else None
        return self.owners(originator_id) if self.owners is not None else None

    def seal(self, value: Any, key_id: str, originator_id: Any,
             name: str = "") -> dict[str, Any]:
        version, cipher = self._current_key(key_id)
        nonce = os.urandom(12)
        data = cipher.encrypt(nonce, msgspec.json.encode(value),
                              _aad(originator_id, key_id, version, name))
        return {"sealed": base64.b64encode(data).decode(), "nonce": base64.b64encode(nonce).decode(),
                "key_id": key_id, "key_version": version, "alg": ALGORITHM}

    def open(self, sealed: dict[str, Any], originator_id: Any, name: str = "") -> Any | None:
        """The plain value, ``None`` when its key is destroyed (or it does not open)."""
        key_id, version = sealed["key_id"], int(sealed["key_version"])
        cipher = self._key(key_id, version)
        if cipher is None:
            return None
        try:
            data = cipher.decrypt(base64.b64decode(sealed["nonce"]),
                                  base64.b64decode(sealed["sealed"]),
                                  _aad(originator_id, key_id, version, name))
        except InvalidTag:
            return None
        return msgspec.json.decode(data)

    def seal_state(self, event_class: type, state: dict[str, Any], originator_id: Any,
                   first: bool = False) -> None:
        """Replaces the personal values of an encoded state by their sealed form, in place.
        ``first``: the record's first event (its customer, if it names one, is learnt)."""
        if first and self.owners is not None and isinstance(state.get("customer"), str):
            self.owners.learn(originator_id, state["customer"])
        specs = PERSONAL_FIELDS.get(event_class)
        if specs is None:
            return
        for spec in specs:
            if spec.field not in state:
                continue
            if len(spec.path) > 1 and not isinstance(state[spec.field], dict):
                # A value object: its fields as the encoder would write them, one replaced.
                state[spec.field] = msgspec.to_builtins(state[spec.field], enc_hook=_sorted)
            value = _get(state, spec.path)
            if value is None or value == "":
                continue
            customer = self.owner(spec, state, originator_id)
            if customer is None:
                continue
            _set(state, spec.path, self.seal(value, key_id_for(customer), originator_id,
                                             spec.aad_name))


def _sorted(obj: Any) -> Any:
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def open_state(sealer: ContactSealer | None, event_class: type, state: dict[str, Any],
               originator_id: Any) -> None:
    """Replaces the sealed personal values of a raw decoded state by their plain values, in
    place; by their erased form when the key is gone (or no sealer is wired). A plaintext value
    (stored before it was sealed) is left as it is unless its customer had an erasure."""
    for spec, value in list(personal_values(event_class, state)):
        if is_sealed(value):
            opened = sealer.open(value, originator_id, spec.aad_name) if sealer else None
            _set(state, spec.path, spec.erased if opened is None else opened)
        elif sealer is not None and _erased_owner(sealer, spec, state, originator_id):
            # Plaintext stored before sealing existed: it cannot be shredded, but once the
            # customer had an erasure no view shows it any more (ADR 0034).
            _set(state, spec.path, spec.erased)
    if event_class is Ticket.Registered and state.get("contact") == ERASED_STATE \
            and routine_description(state):
        state["description"] = without_routine_signer(state["description"])


def _erased_owner(sealer: ContactSealer, spec: PersonalField, state: dict[str, Any],
                  originator_id: Any) -> bool:
    customer = sealer.owner(spec, state, originator_id)
    return customer is not None and sealer.erased(key_id_for(customer))
