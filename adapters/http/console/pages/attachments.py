"""Files on the desk's ticket page (ADR 0056).

``POST /ui/tickets/{ref}/attach`` (``multipart/form-data``: ``file``, an optional note
``body`` and ``visibility``, the CSRF token, ``_key`` and ``_version``): the file is uploaded
as the customer's of the ticket (its key seals the bytes) and attached with a note
(``Comment``, internal unless ``public`` is chosen), the way ``POST /api/v1/attachments`` and
``POST /api/v1/tickets/{ref}/comment`` do it; then ``303`` back to the page's files. It is
governed by the notes' rule (``POST /tickets/{ref}/comment``). The edge refuses a form
announced larger than ``OPSLEDGER_ATTACHMENT_MAX_BYTES`` before the CSRF check reads it.

The list of files (``templates/tickets/_attachments.html``) is ``uploads.record_files``: the
files the ticket's history names (its registration, notes and work log) that the caller may
read, with links to ``GET /api/v1/attachments/{id}`` (the console's session reads it).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State, UploadFile
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect

from adapters.http import kit
from adapters.http.access import API, AUDIENCE_OPT, OPERATION_OPT, STAFF
from adapters.http.console.forms import run_form
from adapters.http.edge.limits import FILES_OPT
from application.attachments import upload
from application.commands.tickets import Comment
from domain.ticket import Visibility


@post("/ui/tickets/{ref:str}/attach", name="ui-ticket-attach", include_in_schema=False,
      status_code=303, request_max_body_size=None,
      opt={OPERATION_OPT: f"POST {API}/tickets/{{ref}}/comment", AUDIENCE_OPT: STAFF,
           FILES_OPT: True})
async def attach(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
    services = kit.services_of(state)
    form = await request.form()  # read once, by the CSRF check, within the edge's bound
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise ValidationException("file: choose a file",
                                  extra=[{"key": "file", "message": "required: a file"}])
    data = await file.read()
    limit = services.settings.attachment_max_bytes
    if len(data) > limit:
        raise HTTPException(status_code=413, detail="the file is too large",
                            extra=[{"key": "file", "message": f"larger than {limit} bytes"}])
    note = str(form.get("body") or "")
    visibility = str(form.get("visibility") or Visibility.INTERNAL)

    def run() -> str:
        ticket = services.desk.get_ticket(ref)
        uploaded = upload(services.desk, services.blobs, data=data, filename=file.filename,
                          content_type=file.content_type, owner=ticket.customer,
                          actor=kit.actor_of(request))
        command = Comment(ref=ref, body=note, visibility=visibility,
                          attachments=(str(uploaded.id),), via="console")
        return str(run_form(request, state, form, command, ref).aggregate.number)

    number = await request.app.state.run_blocking(run)
    return Redirect(f"/ui/tickets/{number}#attachments", status_code=303)


HANDLERS = [attach]
