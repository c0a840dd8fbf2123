"""Verifying the store's hash chain, and publishing signed chain heads (ADR 0030, docs/audit.md).

A *head* is ``(position, hash)``: the chain hash after the event at ``position``. Published
(printed, optionally signed with Ed25519), it lets an outsider check later that the store still
recomputes to that hash at that position, i.e. that no event up to there was changed, removed,
inserted or reordered, even by someone who also rewrote the ``event_chain`` table.

Signing key: ``OPSLEDGER_AUDIT_SIGNING_KEY`` is either the path of a PEM (PKCS#8) Ed25519
private key file or the base64 of the raw 32-byte private key. Public keys are given the same
ways (a PEM ``SubjectPublicKeyInfo`` file or base64 of the raw 32 bytes).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.persistence import ApplicationRecorder

from adapters.audit.scan import verify_range
from adapters.audit.store import ChainStore
from application.audit import Verdict, merge, verify

HEAD_FORMAT = "opsledger-chain-head/1"
SIGNING_KEY_ENV = "OPSLEDGER_AUDIT_SIGNING_KEY"
Progress = Callable[[int, int], None]


class AuditError(Exception):
    """A bad key, file or argument: the CLI prints it and exits 2."""


def verify_store(recorder: ApplicationRecorder, *, start: int = 0, stop: int | None = None,
                 anchor: str | None = None, progress: Progress | None = None,
                 processes: int = 1) -> Verdict:
    """Recomputes the chain from the stored rows (events from ``start`` on, up to ``stop`` or
    the head as it is when the check begins). With ``start`` the chain row before it is the
    anchor, trusted unless ``anchor`` (a hash the caller trusts, e.g. a published head) is
    given and differs: then the anchor position is reported bad.

    SQLite and PostgreSQL take the fast check (``adapters/audit/scan.py``, ADR 0069): the
    same verdict, in ``processes`` segments at once, each in a process of its own (the CLI
    asks for ``scan.default_processes``; a server's request keeps to its own process)."""
    store = ChainStore(recorder)
    if stop is None:
        stop = max(store.bounds())
    before, anchor_hash = store.hash_before(start) if start > 1 else (0, bytes(32).hex())
    if anchor is not None and anchor.lower() != anchor_hash:
        return Verdict(False, 0, anchor_hash, before, before,
                       "the stored chain row before 'from' differs from the trusted anchor",
                       expected=anchor.lower(), found=anchor_hash,
                       anchor={"position": before, "hash": anchor_hash})
    if store.kind in ("sqlite", "postgres"):
        return verify_range(recorder, store.kind, before, stop, bytes.fromhex(anchor_hash),
                            processes=processes, progress=progress)
    pairs = merge(store.events(before, stop), store.chain(before, stop))
    return verify(pairs, anchor=bytes.fromhex(anchor_hash), anchor_position=before,
                  progress=progress)


def head_message(position: int, head: str) -> bytes:
    """The exact bytes a head signature covers."""
    return f"{HEAD_FORMAT}\n{position}\n{head}\n".encode()


def signing_key(value: str) -> Ed25519PrivateKey | None:
    """The Ed25519 key ``value`` names (``Settings.audit_signing_key``, from
    ``OPSLEDGER_AUDIT_SIGNING_KEY``), None when it is empty."""
    if not value.strip():
        return None
    path = Path(value.strip())
    try:
        if path.is_file():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise AuditError(f"{SIGNING_KEY_ENV}: {path} is not an Ed25519 private key")
            return key
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as e:
        raise AuditError(f"{SIGNING_KEY_ENV}: not a PEM file path nor base64 of 32 raw bytes "
                         f"({e})") from None


def public_key(value: str) -> Ed25519PublicKey:
    """A public key: a PEM file path or base64 of the raw 32 bytes."""
    path = Path(value.strip())
    try:
        if path.is_file():
            key = serialization.load_pem_public_key(path.read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise AuditError(f"{path} is not an Ed25519 public key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as e:
        raise AuditError(f"public key: not a PEM file path nor base64 of 32 raw bytes ({e})") from None


def raw_public(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)).decode()


def head_document(position: int, head: str, store: str,
                  key: Ed25519PrivateKey | None) -> dict[str, Any]:
    """The published head: position, hash and, with a key, its signature and public key."""
    doc: dict[str, Any] = {"format": HEAD_FORMAT, "store": store, "position": position,
                           "head": head}
    if key is not None:
        doc["signature"] = base64.b64encode(key.sign(head_message(position, head))).decode()
        doc["public_key"] = raw_public(key.public_key())
    return doc


def check_signature(doc: dict[str, Any], trusted: Ed25519PublicKey | None) -> str:
    """Checks a head's signature; returns what was established. With ``trusted`` the head must
    be signed by that key; without it an embedded signature is only checked for integrity."""
    signature = doc.get("signature")
    if signature is None:
        if trusted is not None:
            raise AuditError("the head is not signed, but a public key was given")
        return "unsigned"
    key = trusted or public_key(str(doc.get("public_key", "")))
    try:
        key.verify(base64.b64decode(signature), head_message(int(doc["position"]), str(doc["head"])))
    except (InvalidSignature, ValueError) as e:
        raise AuditError("the head's signature does not match its position and hash") from e
    return "signed by the given key" if trusted else "signature intact (signer not authenticated: pass --public-key)"


def check_head(recorder: ApplicationRecorder, doc: dict[str, Any],
               trusted: Ed25519PublicKey | None, progress: Progress | None = None
               ) -> tuple[bool, str]:
    """Is the published head still what the store recomputes at its position?"""
    if doc.get("format") != HEAD_FORMAT:
        raise AuditError(f"not a chain head document (format must be {HEAD_FORMAT!r})")
    signed = check_signature(doc, trusted)
    position = int(doc["position"])
    verdict = verify_store(recorder, stop=position, progress=progress)
    if not verdict.ok:
        return False, (f"{signed}; the chain is broken at position {verdict.first_bad_position} "
                       f"({verdict.reason})")
    if verdict.position != position or verdict.head != doc["head"]:
        return False, (f"{signed}; history was rewritten: at position {position} the store "
                       f"recomputes {verdict.head} (last event {verdict.position}), "
                       f"the published head is {doc['head']}")
    return True, f"{signed}; the store still holds head {doc['head']} at position {position}"
