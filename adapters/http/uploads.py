"""Files over HTTP (ADR 0056), shared by the JSON route (``routes/attachments.py``) and the
console's upload form: reading a ``multipart/form-data`` body with a bound on the file,
who may read an attachment, and the download answer.

The body is read as it streams in (``multipart``'s push parser, the one Litestar uses): the
file part may not pass ``OPSLEDGER_ATTACHMENT_MAX_BYTES`` and the text fields a few KiB, so
an oversized upload is refused (413) once that many bytes have arrived, never buffered whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
import re
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import PermissionDeniedException, ValidationException
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from adapters.container import Services
from adapters.http.access import (ADMIN, API, AUDITOR, REQUESTER, may_call, principal_of)
from adapters.http.edge.limits import FILES_FORM_OVERHEAD
from adapters.http.schemas.common import LINE
from adapters.http.problem_details import problem
from application.attachments import (FileAltered, FileErased, FileMissing, FileUnreadable,
                                     attachment_uuid, erased, filename_of, load_attachment)
from application.errors import RecordNotFound
from application.identities import Principal
from domain.attachment import Attachment, Link
from domain.customer import normalise_customer_id

#: What a form may carry besides the file (``customer``, the console's note and CSRF token).
MAX_TEXT_FIELD = 16 * 1024
MAX_PARTS = 16
#: The room a form's boundaries and part headers take beside the file itself.
FORM_OVERHEAD = FILES_FORM_OVERHEAD

#: The read rule of each kind of record a file is attached to (``access.RULES``).
READS = {"ticket": f"GET {API}/tickets/{{ref}}", "project": f"GET {API}/projects/{{ref}}",
         "change": f"GET {API}/changes/{{ref}}", "problem": f"GET {API}/problems/{{ref}}"}


class UploadRefused(Exception):
    """A form the upload refuses; ``response`` is its problem+json answer."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__(response.content)
        self.response = response


def _refused(status: int, title: str, detail: str, kind: str, field_name: str,
             message: str) -> UploadRefused:
    return UploadRefused(problem(status, title, detail, kind,
                                 errors=[{"field": field_name, "message": message}]))


@dataclass
class Upload:
    data: bytes
    filename: str
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def too_large(max_bytes: int) -> UploadRefused:
    return _refused(413, "Request body too large",
                    f"a file may be at most {_mib(max_bytes)} (OPSLEDGER_ATTACHMENT_MAX_BYTES)",
                    "http-413", "file", f"larger than {_mib(max_bytes)}")


def _boundary(request: Request[Any, Any, Any]) -> bytes:
    media, options = request.content_type
    if media != "multipart/form-data":
        raise _refused(415, "Unsupported media type",
                       "send the file as multipart/form-data (a field named file); with curl: "
                       "-F file=@path", "http-415", "Content-Type", "must be multipart/form-data")
    boundary = options.get("boundary")
    if not boundary:
        raise _refused(400, "Invalid input", "multipart boundary missing in Content-Type",
                       "invalid-input", "Content-Type", "no boundary")
    return boundary.encode("latin-1")


async def read_upload(request: Request[Any, Any, Any], max_bytes: int,
                      field_name: str = "file") -> Upload:
    """The file of the form field ``field_name`` and the form's text fields: 415 for a body
    that is not a form, 413 past ``max_bytes``, 422 naming ``file`` when there is none."""
    boundary = _boundary(request)
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > max_bytes + FORM_OVERHEAD:
        raise too_large(max_bytes)
    texts: dict[str, str] = {}
    file: Upload | None = None
    part: MultipartSegment | None = None
    buffer = bytearray()
    total = 0
    try:
        with PushMultipartParser(boundary, max_segment_count=MAX_PARTS) as parser:
            async for chunk in request.stream():
                total += len(chunk)
                if total > max_bytes + FORM_OVERHEAD:
                    raise too_large(max_bytes)
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        part, buffer = event, bytearray()
                    elif event:
                        buffer.extend(event)
                        limit = max_bytes if part is not None and part.name == field_name \
                            and part.filename is not None else MAX_TEXT_FIELD
                        if len(buffer) > limit:
                            name = part.name if part is not None else "body"
                            raise too_large(max_bytes) if limit == max_bytes else _refused(
                                413, "Request body too large", f"{name}: too long", "http-413",
                                name, f"at most {MAX_TEXT_FIELD} bytes")
                    elif part is not None:
                        if part.name == field_name and part.filename is not None:
                            if file is None:
                                file = Upload(bytes(buffer), part.filename,
                                              part.content_type or "application/octet-stream")
                        elif part.filename is None:
                            texts[part.name] = buffer.decode(part.charset or "utf-8",
                                                             errors="replace")
                        part, buffer = None, bytearray()
                if parser.closed:
                    break
    except (ParserError, ParserLimitReached) as e:
        raise _refused(400, "Invalid input", f"not a well-formed multipart/form-data body: {e}",
                       "invalid-input", "body", "malformed form") from None
    if file is None:
        raise _refused(422, "The command breaks a rule",
                       f"{field_name}: no file (send it as the form field {field_name!r})",
                       "invalid-command", field_name, "required: a file")
    file.fields = texts
    return file


# ------------------------------------------------------------------ who reads a file


def owner_for_upload(principal: Principal, given: str | None) -> str:
    """The customer whose key seals an upload: a requester's own organisation (a ``customer``
    field naming another one is refused), else the staff's ``customer`` field ("" for the
    provider's own files)."""
    given = normalise_customer_id(given or "")
    if len(given) > 200 or not re.fullmatch(LINE, given):
        raise ValidationException("customer: a customer's id",
                                  extra=[{"key": "customer",
                                          "message": "at most 200 printable characters"}])
    if REQUESTER in principal.roles and ADMIN not in principal.roles:
        own = normalise_customer_id(principal.customer or "")
        if not own:
            raise PermissionDeniedException("this requester belongs to no customer organisation")
        if given and given != own:
            raise ValidationException("customer: a requester uploads for their own organisation",
                                      extra=[{"key": "customer",
                                              "message": "not your organisation"}])
        return own
    return given


def record_customer(services: Services, link: Link) -> str | None:
    """The customer organisation of the record a link names (tickets and projects)."""
    try:
        if link.kind == "ticket":
            return str(services.desk.get_ticket(link.record_id).customer)
        if link.kind == "project":
            from application.projects import get_project
            return str(get_project(services.desk, link.record_id).customer)
    except RecordNotFound:
        return None
    return None


def may_read_link(services: Services, principal: Principal, link: Link) -> bool:
    """Whether ``principal`` may read a file through the record ``link`` names: the record's
    read rule; requesters only public files of their organisation's records; auditors (who
    never see internal notes) only public files."""
    if ADMIN in principal.roles:
        return True
    key = READS.get(link.kind)
    if key is None or not may_call(principal, key):
        return False
    if REQUESTER in principal.roles:
        if link.visibility != "public" or not principal.customer:
            return False
        owner = record_customer(services, link)
        return owner is not None and normalise_customer_id(owner) == normalise_customer_id(
            principal.customer)
    if link.visibility == "internal" and principal.roles <= {AUDITOR, REQUESTER}:
        return False
    return True


def may_read(services: Services, principal: Principal, attachment: Attachment) -> bool:
    """Admins, the uploader, and whoever may read a record it is attached to."""
    if ADMIN in principal.roles or attachment.uploaded_by == principal.user_id:
        return True
    return any(may_read_link(services, principal, link) for link in attachment.links)


def visible_links(services: Services, principal: Principal,
                  attachment: Attachment) -> list[Link]:
    if ADMIN in principal.roles or attachment.uploaded_by == principal.user_id:
        return list(attachment.links)
    return [link for link in attachment.links if may_read_link(services, principal, link)]


def readable(request: Request[Any, Any, Any], services: Services,
             attachment: Attachment | None, ref: str) -> Attachment:
    """``attachment`` when the caller may read it; ``RecordNotFound`` (404) otherwise, as for
    an unknown id (existence does not leak)."""
    if attachment is None or not may_read(services, principal_of(request), attachment):
        raise RecordNotFound(ref, "attachment")
    return attachment


# ------------------------------------------------------------------ the answers


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 with RFC 5987's ``filename*`` for any name (巡检单.pdf): an ASCII fallback
    (other characters as ``_``) and the UTF-8 name percent-encoded."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename)
    return (f'{disposition}; filename="{fallback or "file"}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}")


def file_response(attachment: Attachment, data: bytes) -> Response[bytes]:
    return Response(data, media_type=attachment.content_type, headers={
        "Content-Disposition": content_disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        # An uploaded page never runs on this origin, even opened directly.
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "ETag": f'"{attachment.sha256}"',
        "Cache-Control": "private, no-cache",
    })


def unreadable(exc: FileUnreadable) -> Response[Any]:
    """410 for an erased file; 409 for bytes altered or missing from the blob store."""
    if isinstance(exc, FileErased):
        return problem(410, "Gone: erased", str(exc), "attachment-erased",
                       attachment=exc.attachment_id)
    kind = "attachment-altered" if isinstance(exc, FileAltered) else "attachment-missing"
    title = ("Stored file altered" if isinstance(exc, FileAltered)
             else "Stored file missing")
    assert isinstance(exc, FileAltered | FileMissing)
    return problem(409, title, str(exc), kind, attachment=exc.attachment_id, sha256=exc.sha256)


# ------------------------------------------------------------------ a record's files (pages)


def history_file_ids(entries: list[Any]) -> list[str]:
    """The ids of uploaded files a record's (already filtered) history names, oldest first:
    a registration's and a note's ``attachments``, a work-log entry's."""
    found: dict[str, None] = {}
    for entry in entries:
        data = entry.data
        refs = list(data.get("attachments") or ())
        refs += list(getattr(data.get("entry"), "attachments", ()) or ())
        for ref in refs:
            uid = attachment_uuid(str(ref))
            if uid is not None:
                found[str(uid)] = None
    return list(found)


def record_files(services: Services, principal: Principal, entries: list[Any]) -> list[dict[str, Any]]:
    """The files of a record's history that ``principal`` may read, for a page: name, size,
    media type, the visibility of its link, its state and where to download it."""
    out: list[dict[str, Any]] = []
    for ref in history_file_ids(entries):
        a = load_attachment(services.desk, ref)
        if a is None or not may_read(services, principal, a):
            continue
        state = "erased" if erased(services.desk, a) else "ok"
        links = visible_links(services, principal, a)
        out.append({"id": str(a.id), "filename": filename_of(services.desk, a), "size": a.size,
                    "content_type": a.content_type, "state": state, "sha256": a.sha256,
                    "visibility": "internal" if links and all(
                        link.visibility == "internal" for link in links) else "public",
                    "href": f"{API}/attachments/{a.id}", "uploaded_at": a.created_on})
    return out
