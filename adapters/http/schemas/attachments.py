"""Wire types of uploaded files (ADR 0056): the answer to an upload and a file's description.
The upload itself is a ``multipart/form-data`` body (a ``file`` part, optionally
``customer``), read by ``adapters.http.uploads``, not a JSON struct."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from adapters.http.schemas import common as s


class AttachmentOut(Struct, frozen=True):
    """``POST /api/v1/attachments`` → 201."""

    id: str
    sha256: str
    size: int
    content_type: str
    filename: str
    customer: str  # whose data key seals the bytes ("" for the provider's own files)
    uploaded_by: str
    uploaded_at: datetime


class AttachmentLinkOut(Struct, frozen=True):
    kind: str  # ticket | project | change
    record_id: str
    number: str
    visibility: str  # public | internal
    at: datetime


class AttachmentMeta(Struct, frozen=True):
    """``GET /api/v1/attachments/{id}/meta``: the file's record and where it is attached (the
    records the caller may read); ``state`` is ``ok``, ``erased`` (its customer's key was
    destroyed), ``altered`` or ``missing`` (the stored bytes)."""

    id: str
    sha256: str
    size: int
    content_type: str
    filename: str
    customer: str
    uploaded_by: str
    uploaded_at: datetime
    state: str
    links: list[AttachmentLinkOut]
    download: str


class AttachIn(s.Input):
    """``POST /api/v1/changes/{ref}/attach``: uploaded files to attach to the record."""

    attachments: s.Refs
    visibility: s.Short = "public"  # public | internal (staff but auditors)
