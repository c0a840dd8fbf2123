"""Commands on uploaded files (ADR 0056). The bytes are stored by
``application.attachments.upload`` before ``UploadAttachment`` records them; a file is
attached to a record by that record's own command, which calls ``claim`` in its ``decide``
(also importable from ``application.attachments``): each file is checked (it exists; the
actor uploaded it, or a system actor such as the mail gateway did) and linked to the record;
the linked attachments are returned so that the handler saves them in the same transaction
as the record's event. A refused command links nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from application.commands.base import NOTHING, Command, RecordCommand, command
from domain.attachment import Attachment
from domain.change import Change
from domain.errors import FieldError, InvalidCommand

if TYPE_CHECKING:
    from application.desk import Context

MAX_PER_COMMAND = 50


def attachment_uuid(ref: str) -> UUID | None:
    try:
        return UUID(str(ref).strip())
    except ValueError:
        return None


def may_claim(attachment: Attachment, actor: str) -> bool:
    """Whether ``actor`` may attach ``attachment``: their own upload, or one uploaded by a
    system actor (``system:…``: the mail gateway) on the system's behalf."""
    return attachment.uploaded_by == actor or actor.startswith("system:")


def claim(ctx: Context, ids: Sequence[str], *, kind: str, record_id: UUID, number: str,
          visibility: str = "public", field: str = "attachments",
          text_refs: bool = False) -> tuple[Attachment, ...]:
    """Links each uploaded file of ``ids`` to the record (``kind``, ``record_id``,
    ``number``) and returns the attachments to save with it; ``InvalidCommand`` naming
    ``field`` for an unknown id, a file uploaded by someone else, or too many files.
    ``text_refs``: a reference that is not a uuid stays a text reference (a file name, a
    link: what ``attachments`` held before uploads existed) and is passed over; one that
    is a uuid must be an uploaded file."""
    if not ids:
        return ()
    if len(ids) > MAX_PER_COMMAND:
        raise InvalidCommand.field(field, f"at most {MAX_PER_COMMAND} files at once")
    errors: list[FieldError] = []
    claimed: list[Attachment] = []
    for ref in dict.fromkeys(ids):
        uid = attachment_uuid(ref)
        if uid is None and text_refs:
            continue
        found = ctx.desk.load(uid) if uid is not None else None
        if not isinstance(found, Attachment):
            errors.append(FieldError(field, f"no uploaded file {ref!r} (POST /api/v1/attachments first)"))
            continue
        if not may_claim(found, ctx.actor):
            errors.append(FieldError(field, f"{ref} was uploaded by someone else"))
            continue
        if found.attach(kind=kind, record_id=record_id, number=number, visibility=visibility,
                        actor=ctx.actor, at=ctx.at):
            claimed.append(found)
    if errors:
        raise InvalidCommand(errors)
    return tuple(claimed)


@command
class UploadAttachment(Command):
    """``Attachment.upload`` → ``Attachment.Uploaded``: the SHA-256, size, media type, file
    name and owner of bytes already in the blob store, sealed with ``key_version`` of the
    owner's key. HTTP: ``POST /api/v1/attachments`` (multipart, ``application.attachments.
    upload``)."""

    record_class = Attachment
    record_label = "attachment"
    verb = "upload"

    sha256: str
    size: int
    content_type: str
    filename: str
    owner: str = ""
    key_version: int = 0

    def decide(self, record: None, ctx: Context) -> Attachment:
        return Attachment.upload(id=uuid4(), sha256=self.sha256, size=self.size,
                                 content_type=self.content_type, filename=self.filename,
                                 owner=self.owner, actor=ctx.actor, at=ctx.at,
                                 key_version=self.key_version)


@command
class AttachToChange(RecordCommand):
    """``Attachment.attach`` → ``Attachment.Attached`` for each uploaded file, linked to the
    change ``ref`` (a plan's document, a test report, the customer's signed consent): a
    change's own events take no files, so the link is the file's event, saved in one
    transaction with a look at the change. Files already attached record nothing. HTTP:
    ``AttachIn`` (``POST /api/v1/changes/{ref}/attach``)."""

    record_class = Change
    record_label = "change"
    verb = "attach"

    attachments: Sequence[str]
    visibility: str = "public"

    def decide(self, change: Change, ctx: Context) -> Any:
        if not self.attachments:
            raise InvalidCommand.field("attachments", "name at least one uploaded file")
        files = claim(ctx, self.attachments, kind="change", record_id=change.id,
                      number=change.number, visibility=self.visibility)
        return files or NOTHING
