"""Files on the desk's ticket page (ADR 0056).

``POST /ui/tickets/{ref}/attach`` (``multipart/form-data``: ``file``, an optional note
``body`` and ``visibility``, the CSRF token, ``_key`` and ``_version``): the file is uploaded
as the customer's of the ticket (its key seals the bytes) and attached with a note
(``Comment``, internal unless ``public`` is chosen), the way ``POST /api/v1/attachments`` and
``POST /api/v1/tickets/{ref}/comment`` do it; then ``303`` back to the page's files. It is
governed by the notes' rule (``POST /tickets/{ref}/comment``). The edge refuses a form
announced larger than ``OPSLEDGER_ATTACHMENT_MAX_BYTES`` before the CSRF check reads it.

``POST /portal/tickets/{ref}/attach``: the same for the customer in the portal, the file
attached with their message (``CustomerReply``: public; a waiting ticket resumes).

The list of files (``templates/tickets/_attachments.html``) is ``uploads.record_files``: the
files the ticket's history names (its registration, notes and work log) that the caller may
read, with links to ``GET /api/v1/attachments/{id}`` (the console's session reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, post
from litestar.datastructures import State, UploadFile
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect

from adapters.http import kit
from adapters.http.access import API, AUDIENCE_OPT, OPERATION_OPT, PORTAL, STAFF
from adapters.http.console.forms import run_form
from adapters.http.edge.limits import FILES_OPT
from application.attachments import upload
from application.commands.tickets import Comment, CustomerReply
from domain.ticket import Visibility


async def _received(request: Request[Any, Any, Any], state: State) -> tuple[Any, UploadFile, bytes]:
    """The form (read once, by the CSRF check, within the edge's bound), its file and bytes;
    ``400`` naming ``file`` without one, ``413`` past ``OPSLEDGER_ATTACHMENT_MAX_BYTES``."""
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise ValidationException("file: choose a file",
                                  extra=[{"key": "file", "message": "required: a file"}])
    data = await file.read()
    limit = kit.services_of(state).settings.attachment_max_bytes
    if len(data) > limit:
        raise HTTPException(status_code=413, detail="the file is too large",
                            extra=[{"key": "file", "message": f"larger than {limit} bytes"}])
    return form, file, data


def _attach_with(request: Request[Any, Any, Any], state: State, form: Any, ref: str,
                 file: UploadFile, data: bytes, note: Callable[[str], Any]) -> str:
    """Uploads the file as the ticket's customer's (its key seals the bytes) and runs the
    note ``note(attachment id)`` built, through the page's version and key; its number."""
    services = kit.services_of(state)
    ticket = services.desk.get_ticket(ref)
    uploaded = upload(services.desk, services.blobs, data=data, filename=str(file.filename),
                      content_type=file.content_type, owner=ticket.customer,
                      actor=kit.actor_of(request))
    return str(run_form(request, state, form, note(str(uploaded.id)), ref).aggregate.number)


@post("/ui/tickets/{ref:str}/attach", name="ui-ticket-attach", include_in_schema=False,
      status_code=303, request_max_body_size=None,
      opt={OPERATION_OPT: f"POST {API}/tickets/{{ref}}/comment", AUDIENCE_OPT: STAFF,
           FILES_OPT: True})
async def attach(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
    form, file, data = await _received(request, state)
    body = str(form.get("body") or "")
    visibility = str(form.get("visibility") or Visibility.INTERNAL)
    number = await request.app.state.run_blocking(lambda: _attach_with(
        request, state, form, ref, file, data,
        lambda id_: Comment(ref=ref, body=body, visibility=visibility, attachments=(id_,),
                            via="console")))
    return Redirect(f"/ui/tickets/{number}#attachments", status_code=303)


@post("/portal/tickets/{ref:str}/attach", name="portal-ticket-attach", include_in_schema=False,
      status_code=303, request_max_body_size=None,
      opt={OPERATION_OPT: f"POST {API}/tickets/{{ref}}/comment", AUDIENCE_OPT: PORTAL,
           FILES_OPT: True})
async def portal_attach(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
    """The customer sends a file from the portal: uploaded as their organisation's and
    attached with their message (``CustomerReply`` via ``portal``: public, and a ticket
    waiting for the customer resumes), as the API's upload and comment do for a requester."""
    form, file, data = await _received(request, state)
    body = str(form.get("body") or "")
    number = await request.app.state.run_blocking(lambda: _attach_with(
        request, state, form, ref, file, data,
        lambda id_: CustomerReply(ref=ref, body=body, attachments=(id_,), via="portal")))
    return Redirect(f"/portal/tickets/{number}#attachments", status_code=303)


HANDLERS = [attach, portal_attach]
