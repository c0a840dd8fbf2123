"""Commands on uploaded files (ADR 0056). The bytes are stored by
``application.attachments.upload`` before ``UploadAttachment`` records them; a file is
attached to a record by that record's own command (``application.attachments.claim``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import uuid4

from application.commands.base import Command
from domain.attachment import Attachment

if TYPE_CHECKING:
    from application.desk import Context


@dataclass(frozen=True, slots=True, kw_only=True)
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
