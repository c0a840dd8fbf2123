"""Attaching uploaded files to records (ADR 0056).

A command that takes ``attachments`` (ids of ``domain.attachment.Attachment``) calls ``claim``
in its ``decide``: each file is checked (it exists; the actor uploaded it, or a system actor
such as the mail gateway did) and linked to the record; the linked attachments are returned
so that the handler saves them in the same transaction as the record's event. A refused
command links nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from domain.attachment import Attachment
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
          visibility: str = "public", field: str = "attachments") -> tuple[Attachment, ...]:
    """Links each uploaded file of ``ids`` to the record (``kind``, ``record_id``,
    ``number``) and returns the attachments to save with it; ``InvalidCommand`` naming
    ``field`` for an unknown id, a file uploaded by someone else, or too many files."""
    if not ids:
        return ()
    if len(ids) > MAX_PER_COMMAND:
        raise InvalidCommand.field(field, f"at most {MAX_PER_COMMAND} files at once")
    errors: list[FieldError] = []
    claimed: list[Attachment] = []
    for ref in dict.fromkeys(ids):
        uid = attachment_uuid(ref)
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
