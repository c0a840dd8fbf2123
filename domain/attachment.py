"""An uploaded file (附件: a scanned inspection sheet, a service record, a screenshot, a mail's
attachment), ADR 0056.

The bytes live in the blob store beside the event store, addressed by their SHA-256; the
``Uploaded`` event records that hash, so the audit chain over the events covers the bytes:
a file whose bytes no longer hash to the recorded value is shown as altered. An attachment
belongs to nothing when uploaded; a command on a record (a ticket's note, a work-log entry, a
routine run, a change, a project's acceptance) attaches it (``Attached``, saved with the
record's event in one transaction). Who may download it follows from the records it is
attached to (and the uploader may always read their own upload).

``owner`` is the customer whose data key seals the bytes at rest ("" for the provider's own
files): an erasure of that customer destroys the key and the file with it (ADR 0034).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.checks import refuse_fields
from domain.errors import FieldError, InvalidCommand

MAX_FILENAME = 255


@dataclass(frozen=True)
class Link:
    """One record an attachment is attached to."""

    kind: str  # "ticket" | "change" | "project" | ...
    record_id: str  # the record's uuid
    number: str  # its human number (SR-…, CHG-…, PRJ-…)
    visibility: str  # "public" | "internal" (an internal note's file is for staff only)
    at: datetime


class Attachment(Aggregate):
    TOPIC = "opsledger.attachment:Attachment"

    class Event(Aggregate.Event):
        TOPIC = "opsledger.attachment:Attachment.Event"

    class Uploaded(Aggregate.Created):
        TOPIC = "opsledger.attachment:Attachment.Uploaded"
        sha256: str
        size: int
        content_type: str
        filename: str
        owner: str
        actor: str
        key_version: int  # the version of the owner's key that seals the bytes (0: plain)

    class Attached(Event):
        TOPIC = "opsledger.attachment:Attachment.Attached"
        kind: str
        record_id: str
        number: str
        visibility: str
        actor: str

        def apply(self, a: Attachment) -> None:
            a.links = (*a.links, Link(kind=self.kind, record_id=self.record_id,
                                                 number=self.number,
                                                 visibility=self.visibility,
                                                 at=self.timestamp))

    def __init__(self, sha256: str, size: int, content_type: str, filename: str, owner: str,
                 actor: str, key_version: int = 0) -> None:
        self.sha256 = sha256
        self.size = size
        self.content_type = content_type
        self.filename = filename
        self.owner = owner
        self.uploaded_by = actor
        self.key_version = key_version
        self.links: tuple[Link, ...] = ()

    @classmethod
    def upload(cls, *, id: UUID, sha256: str, size: int, content_type: str, filename: str,
               owner: str, actor: str, at: datetime, key_version: int = 0) -> Attachment:
        errors: list[FieldError] = []
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            errors.append(FieldError("sha256", "64 lower-case hex digits"))
        if size < 0:
            errors.append(FieldError("size", "not negative"))
        name = filename.strip().replace("/", "_").replace("\\", "_")
        if len(name) > MAX_FILENAME or not name.isprintable():
            errors.append(FieldError("filename", f"at most {MAX_FILENAME} printable characters"))
        if not content_type or "/" not in content_type:
            errors.append(FieldError("content_type", "a media type such as text/plain"))
        refuse_fields(errors)
        return cls._create(cls.Uploaded, id=id, timestamp=at, sha256=sha256, size=size,
                           content_type=content_type, filename=name or "file", owner=owner,
                           actor=actor, key_version=key_version)

    def attached(self, kind: str, record_id: UUID | str) -> bool:
        return any(link.kind == kind and link.record_id == str(record_id) for link in self.links)

    def attach(self, *, kind: str, record_id: UUID | str, number: str, visibility: str,
               actor: str, at: datetime) -> bool:
        """Links the file to a record; ``False`` (nothing recorded) when it already is."""
        if visibility not in ("public", "internal"):
            raise InvalidCommand.field("visibility", "public or internal")
        if self.attached(kind, record_id):
            return False
        self.trigger_event(self.Attached, timestamp=at, kind=kind, record_id=str(record_id),
                           number=number, visibility=visibility, actor=actor)
        return True
