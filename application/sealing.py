"""Sealing personal fields of stored events with per-customer keys (ADR 0034).

The mapper (``application.encoding``) calls ``ContactSealer.seal_state`` when it encodes an
event that carries personal data and ``open_state`` when it decodes one, so the stored bytes
hold only AES-256-GCM ciphertext while the aggregates, views and history work with the plain
``Contact``. The domain never sees a key. Destroying a customer's key (an erasure) turns every
stored contact of that customer into ``ERASED_CONTACT`` on every later read, without changing
one stored byte (the hash chain over them stays valid).

The associated data binds each ciphertext to its event's originator id and key version, so a
sealed value copied into another event does not open.

Keys are cached for ``ttl`` seconds: an erasure in this process forgets them at once; another
process sharing the database stops opening them within ``ttl``.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.ports import KeyStore
from domain.customer import customer_id
from domain.ticket import ERASED_CONTACT, Ticket

ALGORITHM = "AES-256-GCM"
ERASED_STATE: dict[str, Any] = msgspec.to_builtins(ERASED_CONTACT)


@dataclass(frozen=True)
class PersonalField:
    """A field of an event class holding personal data, and the field naming its customer
    (whose key seals it)."""

    field: str
    owner: str


# Which stored events carry personal data. A new one is added here, nowhere else.
PERSONAL_FIELDS: dict[type, PersonalField] = {
    Ticket.Registered: PersonalField(field="contact", owner="customer"),
}


def key_id_for(customer: str) -> str:
    """The key id of a customer: its customer uuid (no name in the key table)."""
    return str(customer_id(customer))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and "sealed" in value


def _aad(originator_id: Any, key_id: str, version: int) -> bytes:
    return f"opsledger:{originator_id}:{key_id}:{version}".encode()


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
    """Seals and opens the personal fields of stored events with the owner's key."""

    def __init__(self, keys: KeyStore, ttl: float = 30.0) -> None:
        self.keys = keys
        self.ttl = ttl
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

    def seal(self, value: Any, key_id: str, originator_id: Any) -> dict[str, Any]:
        version, cipher = self._current_key(key_id)
        nonce = os.urandom(12)
        data = cipher.encrypt(nonce, msgspec.json.encode(value),
                                   _aad(originator_id, key_id, version))
        return {"sealed": base64.b64encode(data).decode(), "nonce": base64.b64encode(nonce).decode(),
                "key_id": key_id, "key_version": version, "alg": ALGORITHM}

    def open(self, sealed: dict[str, Any], originator_id: Any) -> Any | None:
        """The plain value, ``None`` when its key is destroyed (or it does not open)."""
        key_id, version = sealed["key_id"], int(sealed["key_version"])
        cipher = self._key(key_id, version)
        if cipher is None:
            return None
        try:
            data = cipher.decrypt(base64.b64decode(sealed["nonce"]),
                                       base64.b64decode(sealed["sealed"]),
                                       _aad(originator_id, key_id, version))
        except InvalidTag:
            return None
        return msgspec.json.decode(data)

    def seal_state(self, event_class: type, state: dict[str, Any], originator_id: Any) -> None:
        """Replaces the personal field of an encoded state by its sealed form, in place."""
        spec = PERSONAL_FIELDS.get(event_class)
        if spec is None or spec.field not in state:
            return
        state[spec.field] = self.seal(state[spec.field], key_id_for(state[spec.owner]),
                                      originator_id)


def open_state(sealer: ContactSealer | None, event_class: type, state: dict[str, Any],
               originator_id: Any) -> None:
    """Replaces a sealed personal field of a raw decoded state by its plain value, in place;
    by the erased marker when the key is gone (or no sealer is wired). A plaintext value
    (stored before sealing existed) is left as it is unless the customer had an erasure."""
    spec = PERSONAL_FIELDS[event_class]
    value = state.get(spec.field)
    if not is_sealed(value):
        # Plaintext stored before sealing existed: it cannot be shredded, but once the
        # customer had an erasure no view shows it any more (ADR 0034).
        if sealer is not None and value is not None and spec.owner in state \
                and sealer.erased(key_id_for(state[spec.owner])):
            state[spec.field] = ERASED_STATE
        return
    opened = sealer.open(value, originator_id) if sealer is not None else None
    state[spec.field] = ERASED_STATE if opened is None else opened
