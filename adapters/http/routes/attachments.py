"""HTTP for uploaded files (ADR 0056).

``POST /api/v1/attachments`` (``multipart/form-data``: a ``file`` part; staff may add
``customer``, whose data key then seals the bytes; a requester's upload is always their own
organisation's) → ``201`` ``{id, sha256, size, content_type, ...}``. ``413`` past
``OPSLEDGER_ATTACHMENT_MAX_BYTES`` (20 MiB), ``415`` for a body that is not a form, ``422``
naming ``file`` when there is none. The file belongs to nothing until a command attaches it
(a ticket's note, a work-log entry, a routine run, a project's acceptance,
``POST /changes/{ref}/attach``).

``GET /api/v1/attachments/{id}`` answers the exact bytes (their media type,
``Content-Disposition: attachment`` with the UTF-8 name, RFC 6266/5987), checked against the
SHA-256 its ``Uploaded`` event records; ``GET .../meta`` describes it. Who may read: admins,
the uploader, and whoever may read a record it is attached to (requesters: public files of
their organisation's records; auditors: public files). Anyone else gets ``404`` as for an
unknown id. ``410`` once its customer's personal data was erased (the key that sealed it is
destroyed); ``409`` when the stored bytes were altered or are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from adapters.http import kit
from adapters.http.access import principal_of
from adapters.http.edge.limits import FILES_OPT
from adapters.http.openapi.contract import also_answers
from adapters.http.schemas.attachments import (AttachIn, AttachmentLinkOut, AttachmentMeta,
                                               AttachmentOut)
from adapters.http.schemas.changes import ChangeView, change_view
from adapters.http.schemas.common import LINE, copied
from adapters.http.uploads import (UploadRefused, file_response, owner_for_upload, read_upload,
                                   readable, unreadable, visible_links)
from application.attachments import (FileUnreadable, check, filename_of, load_attachment, read,
                                     upload)
from application.commands.attachments import AttachToChange
from domain.attachment import Attachment

TAGS = ["attachments"]


@dataclass
class UploadOperation(Operation):
    """The upload's operation in the OpenAPI document: its ``multipart/form-data`` body (the
    handler reads the stream itself, so Litestar knows no ``data`` to describe)."""

    def __post_init__(self) -> None:
        text = Schema(type=OpenAPIType.STRING, max_length=200, pattern=LINE)
        self.request_body = RequestBody(required=True, description=(
            "file: the file (at most OPSLEDGER_ATTACHMENT_MAX_BYTES, 20 MiB); customer: whose "
            "data key seals it (staff; a requester's upload is their organisation's)"),
            content={"multipart/form-data": OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT, required=["file"],
                properties={"file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                            "customer": text}))})


def attachment_out(a: Attachment, filename: str) -> AttachmentOut:
    return AttachmentOut(id=str(a.id), sha256=a.sha256, size=a.size,
                         content_type=a.content_type, filename=filename, customer=a.owner,
                         uploaded_by=a.uploaded_by, uploaded_at=a.created_on)


@post(f"{kit.API}/attachments", status_code=201, summary="Upload a file (multipart, field file)",
      tags=TAGS, request_max_body_size=None, opt={FILES_OPT: True},
      operation_class=UploadOperation,
      responses={**also_answers(413, "The file is larger than OPSLEDGER_ATTACHMENT_MAX_BYTES"),
                 **also_answers(415, "The body is not multipart/form-data")})
async def upload_attachment(request: Request[Any, Any, Any], state: State) -> Response[AttachmentOut]:
    services = kit.services_of(state)
    try:
        form = await read_upload(request, services.settings.attachment_max_bytes)
    except UploadRefused as e:
        return e.response
    owner = owner_for_upload(principal_of(request), form.fields.get("customer"))
    attachment = await state.run_blocking(
        lambda: upload(services.desk, services.blobs, data=form.data, filename=form.filename,
                       content_type=form.content_type, owner=owner,
                       actor=kit.actor_of(request)))
    return kit.json_answer(attachment_out(attachment, attachment.filename), status_code=201,
                           headers={"Location": f"{kit.API}/attachments/{attachment.id}"})


def _download(request: Request[Any, Any, Any], state: State, ref: str) -> Response[Any]:
    services = kit.services_of(state)
    attachment = readable(request, services, load_attachment(services.desk, ref), ref)
    try:
        data = read(services.desk, services.blobs, attachment)
    except FileUnreadable as e:
        return unreadable(e)
    return file_response(attachment, data)


download_attachment = get(
    f"{kit.API}/attachments/{{ref:str}}", summary="Download a file: its exact bytes",
    tags=TAGS, media_type="application/octet-stream", name="attachment-download",
    responses={**also_answers(409, "The stored bytes were altered or are missing"),
               **also_answers(410, "Gone: erased with its customer's personal data")},
)(kit.threaded(_download))


def _meta(request: Request[Any, Any, Any], state: State, ref: str) -> AttachmentMeta:
    services = kit.services_of(state)
    a = readable(request, services, load_attachment(services.desk, ref), ref)
    links = visible_links(services, principal_of(request), a)
    return copied(
        AttachmentMeta, a,
        id=str(a.id),
        filename=filename_of(services.desk, a), customer=a.owner,
        uploaded_at=a.created_on, state=check(services.desk, services.blobs, a),
        links=[AttachmentLinkOut(kind=link.kind, record_id=link.record_id, number=link.number,
                                 visibility=link.visibility, at=link.at) for link in links],
        download=f"{kit.API}/attachments/{a.id}")


attachment_meta = get(
    f"{kit.API}/attachments/{{ref:str}}/meta", summary="A file's record and where it is attached",
    tags=TAGS, name="attachment-meta",
)(kit.threaded(_meta))


def _change_view(result: Any, desk: Any) -> Response[Any]:
    return kit.record_response(result, change_view(result.aggregate), "changes")


attach_to_change = kit.command_route(
    "changes", AttachToChange, AttachIn, "Attach uploaded files to a change",
    respond=_change_view, view=ChangeView)

HANDLERS = [upload_attachment, download_attachment, attachment_meta, attach_to_change]
