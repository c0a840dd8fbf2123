"""Attaching uploaded files to records (ADR 0056).

``upload`` stores the bytes of a file in the blob store (``application.ports.BlobStore``)
sealed with its owner's data key, then records ``Attachment.Uploaded`` with their SHA-256
(the ``UploadAttachment`` command). ``read`` gives the bytes back: ``FileErased`` once the
owner's key was destroyed (an erasure, ADR 0034), ``FileAltered`` when the stored bytes do
not open or no longer hash to the recorded value, ``FileMissing`` when they are gone.

A blob is named by (SHA-256 of the plain bytes, key id, key version): one customer's two
uploads of one file share a blob, two customers' never do (each is sealed with its own key),
and the provider's own files (owner "") are sealed with a provider key no erasure destroys.

A command that takes ``attachments`` (ids of ``domain.attachment.Attachment``) calls ``claim``
in its ``decide`` (``application.commands.attachments``, re-exported here).
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.commands.attachments import (MAX_PER_COMMAND, UploadAttachment,  # noqa: F401
                                               attachment_uuid, claim, may_claim)
from application.errors import ApplicationError
from application.ports import BlobStore, KeyStore
from application.sealing import key_id_for
from domain.attachment import Attachment
from domain.customer import normalise_customer_id
from domain.privacy import ERASED_TEXT

if TYPE_CHECKING:
    from application.desk import ServiceDesk

#: The key of the provider's own files (owner ""): in the key table, never erased.
PROVIDER_KEY = "opsledger:provider-files"
NONCE = 12
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


class FileUnreadable(ApplicationError):
    """The bytes of an attachment cannot be given back."""

    def __init__(self, attachment: Attachment, reason: str) -> None:
        super().__init__(reason)
        self.attachment_id = str(attachment.id)
        self.sha256 = attachment.sha256


class FileErased(FileUnreadable):
    """Its owner's key was destroyed by an erasure (ADR 0034): the bytes are gone for good."""


class FileAltered(FileUnreadable):
    """The stored bytes do not open with their key or no longer hash to the recorded SHA-256."""


class FileMissing(FileUnreadable):
    """No blob of that name in the store (lost, or not restored with a backup)."""


def owner_key_id(owner: str) -> str:
    """The key that seals the files of ``owner`` (a customer; "" for the provider's own)."""
    return key_id_for(owner) if owner else PROVIDER_KEY


def blob_name(sha256: str, key_id: str, version: int) -> str:
    """``<sha256>.<key id>.<version>`` (the key id with anything but letters, digits and
    ``-`` as ``_``): what the blob store calls the sealed bytes."""
    return f"{sha256}.{re.sub(r'[^A-Za-z0-9-]', '_', key_id)}.{version}"


def attachment_blob(attachment: Attachment) -> str:
    return blob_name(attachment.sha256, owner_key_id(attachment.owner), attachment.key_version)


def media_type(content_type: str | None) -> str:
    """``type/subtype`` in lower case without parameters; ``application/octet-stream`` for
    anything that is not one (no header can be smuggled through it)."""
    text = (content_type or "").split(";", 1)[0].strip().lower()
    return text if _MEDIA_TYPE.fullmatch(text) else "application/octet-stream"


def _aad(key_id: str, version: int, sha256: str) -> bytes:
    return f"opsledger-file:{key_id}:{version}:{sha256}".encode()


def key_store(desk: ServiceDesk) -> KeyStore | None:
    """The key table the desk's event sealer uses (``None``: a desk with no sealer)."""
    sealer = getattr(desk.mapper, "sealer", None)
    return getattr(sealer, "keys", None)


def seal_bytes(keys: KeyStore | None, data: bytes, owner: str, sha256: str) -> tuple[int, bytes]:
    """(key version, stored bytes): ``nonce + AES-256-GCM(data)`` with the owner's current key;
    version 0 and the plain bytes when there is no key table."""
    if keys is None:
        return 0, data
    key_id = owner_key_id(owner)
    version, key = keys.current(key_id)
    nonce = os.urandom(NONCE)
    return version, nonce + AESGCM(key).encrypt(nonce, data, _aad(key_id, version, sha256))


def upload(desk: ServiceDesk, blobs: BlobStore, *, data: bytes, filename: str,
           content_type: str, owner: str, actor: str) -> Attachment:
    """Stores ``data`` in ``blobs`` sealed with ``owner``'s key and records
    ``Attachment.Uploaded``; the attachment belongs to nothing until a command ``claim``s it.
    ``InvalidCommand`` for a bad file name; the bytes are stored before the event (a failed
    save leaves an unreferenced blob, never an event without its bytes)."""
    sha256 = hashlib.sha256(data).hexdigest()
    kind = media_type(content_type)
    owner = normalise_customer_id(owner) if owner else ""
    # The domain's checks first, so a refused upload stores nothing.
    Attachment.upload(id=uuid4(), sha256=sha256, size=len(data), content_type=kind,
                      filename=filename, owner=owner, actor=actor, at=datetime.now(UTC))
    version, sealed = seal_bytes(key_store(desk), data, owner, sha256)
    blobs.put(blob_name(sha256, owner_key_id(owner), version), sealed)
    result = desk.handle(UploadAttachment(sha256=sha256, size=len(data), content_type=kind,
                                          filename=filename, owner=owner, key_version=version),
                         actor=actor)
    return result.aggregate  # type: ignore[no-any-return]


def read(desk: ServiceDesk, blobs: BlobStore, attachment: Attachment) -> bytes:
    """The plain bytes of ``attachment``, checked against its recorded SHA-256."""
    key_id = owner_key_id(attachment.owner)
    keys = key_store(desk)
    key: bytes | None = None
    if attachment.key_version:
        key = keys.get(key_id, attachment.key_version) if keys is not None else None
        if key is None:
            raise FileErased(attachment, f"the file {attachment.id} was erased with its "
                                         "customer's personal data")
    stored = blobs.get(attachment_blob(attachment))
    if stored is None:
        raise FileMissing(attachment, f"the bytes of {attachment.id} are not in the blob store")
    data = stored
    if key is not None:
        try:
            data = AESGCM(key).decrypt(stored[:NONCE], stored[NONCE:],
                                       _aad(key_id, attachment.key_version, attachment.sha256))
        except (InvalidTag, ValueError):
            raise FileAltered(attachment, f"the stored bytes of {attachment.id} were altered "
                                          "(they do not open with their key)") from None
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise FileAltered(attachment, f"the stored bytes of {attachment.id} no longer hash to "
                                      "the SHA-256 its Uploaded event records")
    return data


def erased(desk: ServiceDesk, attachment: Attachment) -> bool:
    """Whether the key that sealed ``attachment`` was destroyed (its customer's erasure)."""
    keys = key_store(desk)
    if not attachment.key_version or keys is None:
        return False
    key_id = owner_key_id(attachment.owner)
    sealer = getattr(desk.mapper, "sealer", None)
    if sealer is not None and not sealer.erased(key_id):
        return False
    return keys.get(key_id, attachment.key_version) is None


def filename_of(desk: ServiceDesk, attachment: Attachment) -> str:
    """The file's name as it may be shown: ``[erased]`` once its customer's key is destroyed
    (a cached aggregate may still hold the name it was loaded with)."""
    return ERASED_TEXT if erased(desk, attachment) else attachment.filename


def check(desk: ServiceDesk, blobs: BlobStore, attachment: Attachment) -> str:
    """"ok", "erased", "missing" or "altered": the state of an attachment's bytes (audit)."""
    try:
        read(desk, blobs, attachment)
    except FileErased:
        return "erased"
    except FileMissing:
        return "missing"
    except FileAltered:
        return "altered"
    return "ok"


def verify_files(desk: ServiceDesk, blobs: BlobStore, batch: int = 5000) -> dict[str, Any]:
    """Every uploaded file's bytes against the SHA-256 its ``Uploaded`` event records (the
    audit chain covers that event): how many are ``ok`` or ``erased``, and the ids of those
    ``altered`` or ``missing``. ``ok`` is false when any is."""
    states: dict[str, list[str]] = {"ok": [], "erased": [], "altered": [], "missing": []}
    after = 0
    while found := desk.read_log(after, batch):
        for notification, event in found:
            if isinstance(event, Attachment.Uploaded):
                attachment = desk.load(event.originator_id)
                if isinstance(attachment, Attachment):
                    states[check(desk, blobs, attachment)].append(str(attachment.id))
        after = found[-1][0].id
    return {"ok": not (states["altered"] or states["missing"]),
            "checked": sum(len(v) for v in states.values()), "intact": len(states["ok"]),
            "erased": len(states["erased"]), "altered": states["altered"],
            "missing": states["missing"]}


def load_attachment(desk: ServiceDesk, ref: str) -> Attachment | None:
    uid = attachment_uuid(ref)
    found = desk.load(uid) if uid is not None else None
    return found if isinstance(found, Attachment) else None


def describe(attachment: Attachment) -> dict[str, Any]:
    return {"id": str(attachment.id), "sha256": attachment.sha256, "size": attachment.size,
            "content_type": attachment.content_type}


