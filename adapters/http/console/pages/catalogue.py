"""The service catalogue on the console (服务目录, issue 21 item 1, ADR 0061).

- ``GET /ui/catalogue``: every service (as ``GET /api/v1/catalogue`` lists them), each with a
  link to its request form; for the roles that may define services, the form that defines or
  redefines one (``POST /ui/catalogue``: as ``PUT /api/v1/catalogue/{service_id}``, the form
  schema given as JSON).
- ``GET /ui/catalogue/{service_id}``: a new request from the catalogue: the requester's part of
  a ticket (customer, contact, title) and the service's own fields, drawn from its JSON Schema
  (``form_fields``: a text, number, date, e-mail, yes/no or choice input per property);
  ``POST`` registers it as ``POST /api/v1/tickets {…, service_id, form}`` does (the same body,
  the same command) and goes to the ticket, ``awaiting_approval`` when the service needs one.

Approving or rejecting is on the ticket's page (its command forms, ``pages/tickets.py``).
Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.response import Redirect, Template

from adapters.http import kit
from adapters.http.access import (AUDIENCE_OPT, OPERATION_OPT, PORTAL, STAFF, may_call,
                                   principal_of)
from adapters.http.console.forms import form_body, run_form
from adapters.http.console.records import page_route
from adapters.http.console.render import page
from adapters.http.schemas import service_catalogue as sc
from adapters.http.schemas.common import Reason
from adapters.http.schemas.tickets import RegisterTicket
from application import service_catalogue as uc
from application.commands.service_catalogue import (CUSTOMER, ApproveRequest, PutService,
                                                    RejectRequest)
from application.customers import list_customers
from application.errors import RecordNotFound
from domain.service_catalogue import APPROVALS, PRIORITIES, SERVICE_CLASSES
from domain.ticket import Channel

API = kit.API
CHOICES = {"class": list(SERVICE_CLASSES), "approval": list(APPROVALS),
           "priority": list(PRIORITIES), "channel": [c.value for c in Channel]}
FORM_PREFIX = "form."
LINE_LENGTH = 200  # a text property longer than this (``maxLength``) gets a text area


# ------------------------------------------------------------------ the list


@page_route("/ui/catalogue", "console-catalogue")
def catalogue(request: Request[Any, Any, Any], state: State, edit: str | None = None) -> Template:
    """``edit``: a service whose definition fills the form (to redefine it)."""
    desk = kit.services_of(state).desk
    items = [sc.service_view(s) for s in uc.list_services(desk)]
    editing = next((s for s in items if s.id == edit), None)
    return page(request, "catalogue/list.html", items=items, choices=CHOICES,
                editing=editing, schema_text=json.dumps(
                    editing.form_schema if editing else {"type": "object", "properties": {}},
                    ensure_ascii=False, indent=2))


@post("/ui/catalogue", name="console-catalogue-put", include_in_schema=False,
      status_code=303, opt={OPERATION_OPT: f"PUT {API}/catalogue/{{service_id}}",
                            AUDIENCE_OPT: STAFF})
async def define(request: Request[Any, Any, Any], state: State) -> Redirect:
    """Defines (or redefines) a service as ``PUT /api/v1/catalogue/{service_id}`` does; the
    form schema is JSON text (a 422 naming ``form_schema`` when it is not)."""
    form = await request.form()

    def run() -> str:
        slug = str(form.get("service_id") or "").strip()
        try:
            schema = json.loads(str(form.get("form_schema") or "{}"))
        except ValueError as e:
            raise ValidationException("form_schema is not JSON", extra=[
                {"key": "form_schema", "message": f"not JSON: {e}"}]) from None
        fields = {k: str(form.get(k) or "").strip() for k in (
            "name", "name_en", "class", "approval", "sla_policy", "category", "group",
            "priority", "deliverable")}
        raw = {k: v for k, v in fields.items() if v} | {"form_schema": schema}
        try:
            body = msgspec.convert(raw, sc.ServiceIn)
        except msgspec.ValidationError as e:
            raise ValidationException("the form has invalid fields", extra=[
                {"key": str(e).rsplit("`$.", 1)[-1].rstrip("`") if "`$." in str(e)
                 else "form", "message": str(e)}]) from None
        run_form(request, state, form, PutService(slug=slug, definition=sc.definition(body)))
        return f"/ui/catalogue/{slug}"

    return Redirect(await request.app.state.run_blocking(run), status_code=303)


# ------------------------------------------------------------------ a request


def form_fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The inputs of a service's form, one per property of its JSON Schema, in the schema's
    order: ``name`` (``form.<property>``), ``label`` (its ``title``, else the property),
    ``kind`` (``text``, ``textarea``, ``integer``, ``number``, ``boolean``, ``choice``,
    ``date``, ``email``, ``list``), ``required``, ``options``, ``hint`` (its description)."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required = set(schema.get("required") or ())
    fields = []
    for key, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        kind = prop.get("type")
        if "enum" in prop and isinstance(prop["enum"], list):
            shown = "choice"
        elif kind == "boolean":
            shown = "boolean"
        elif kind in ("integer", "number"):
            shown = str(kind)
        elif kind == "array":
            shown = "list"
        elif prop.get("format") in ("date", "email"):
            shown = str(prop["format"])
        else:  # a line, unless the schema asks for long text
            longest = prop.get("maxLength")
            long_text = isinstance(longest, int) and longest > LINE_LENGTH
            shown = "textarea" if long_text or prop.get("format") == "textarea" else "text"
        fields.append({
            "name": FORM_PREFIX + str(key), "key": str(key),
            "label": str(prop.get("title") or key), "kind": shown,
            "required": key in required, "hint": str(prop.get("description") or ""),
            "options": [str(o) for o in prop.get("enum", [])] if shown == "choice" else [],
            "min": prop.get("minimum"), "max": prop.get("maximum")})
    return fields


def _typed(prop: Mapping[str, Any], values: list[str]) -> Any:
    """A form field's text as its property's JSON type; text that does not read as that
    type is kept as it came, so that the schema's check names the field."""
    kind = prop.get("type")
    if kind == "array":
        return [line.strip() for v in values for line in v.splitlines() if line.strip()]
    text = values[-1].strip()
    if kind == "boolean":
        return text in ("true", "on", "1")
    if kind in ("integer", "number"):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if kind == "integer" and number.is_integer() else number
    if "enum" in prop and isinstance(prop["enum"], list):
        # an enum of numbers, say: the option's value as the schema lists it
        return next((o for o in prop["enum"] if str(o) == text), text)
    return text


def form_values(schema: Mapping[str, Any], form: Any) -> dict[str, Any]:
    """The service's form (``form.<property>`` fields) as the JSON object the schema checks;
    empty fields are left out (a required one is then named by the check), an unticked
    yes/no is ``false``."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    out: dict[str, Any] = {}
    for key, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        getall = getattr(form, "getall", None)
        values = [str(v) for v in (getall(FORM_PREFIX + key, []) if getall else
                                   [form.get(FORM_PREFIX + key)]) if v not in (None, "")]
        if prop.get("type") == "boolean":
            out[key] = _typed(prop, values or ["false"])
        elif values and any(v.strip() for v in values):
            out[key] = _typed(prop, values)
    return out


def _service(state: State, service_id: str) -> sc.ServiceView:
    try:
        return sc.service_view(uc.get_service(kit.services_of(state).desk, service_id))
    except RecordNotFound as e:
        raise NotFoundException(str(e)) from None


def _request_pages(base: str, audience: str) -> list[Any]:
    """``GET|POST <base>/catalogue/{service_id}``: the request form and its submission, on
    the desk (``/ui``: any customer) or the portal (``/portal``: the requester's own
    organisation, as ``kit.registration`` decides), then the ticket's page there."""
    name = "console" if base == "/ui" else "portal"

    @get(f"{base}/catalogue/{{service_id:str}}", name=f"{name}-catalogue-request",
         include_in_schema=False, opt={OPERATION_OPT: f"POST {API}/tickets",
                                       AUDIENCE_OPT: audience})
    @kit.threaded
    def request_form(request: Request[Any, Any, Any], state: State,
                     service_id: str) -> Template:
        service = _service(state, service_id)
        customers = []
        principal = principal_of(request)
        if audience == STAFF and may_call(principal, f"GET {API}/customers"):
            customers = [{"id": c.customer, "name": c.name}
                         for c in list_customers(kit.services_of(state).desk)]
        return page(request, "catalogue/request.html", service=service, choices=CHOICES,
                    fields=form_fields(service.form_schema), customers=customers, base=base,
                    contact_name=principal.name if audience == PORTAL else "")

    @post(f"{base}/catalogue/{{service_id:str}}", name=f"{name}-catalogue-submit",
          include_in_schema=False, status_code=303,
          opt={OPERATION_OPT: f"POST {API}/tickets", AUDIENCE_OPT: audience})
    async def submit(request: Request[Any, Any, Any], state: State,
                     service_id: str) -> Redirect:
        """Registers the request as ``POST /api/v1/tickets {…, service_id, form}`` does."""
        form = await request.form()

        def run() -> str:
            service = _service(state, service_id)
            zone = ZoneInfo(kit.services_of(state).settings.timezone)
            body = form_body(form, RegisterTicket, zone)
            body = msgspec.structs.replace(body, service_id=service.id,
                                           form=form_values(service.form_schema, form))
            result = run_form(request, state, form, kit.registration(request, body))
            return f"{base}/tickets/{result.aggregate.number}"

        return Redirect(await request.app.state.run_blocking(run), status_code=303)

    return [request_form, submit]


@page_route("/portal/catalogue", "console-portal-catalogue", audience=PORTAL)
def portal_catalogue(request: Request[Any, Any, Any], state: State) -> Template:
    items = [sc.service_view(s) for s in uc.list_services(kit.services_of(state).desk)]
    return page(request, "catalogue/portal.html", items=items)


# ------------------------------------------------- the customer's approval


def _portal_decision(verb: str) -> Any:
    """``POST /portal/tickets/{ref}/<verb>``: the requester decides a request of their
    organisation whose service asks for the customer's approval, as the API's ``approve`` /
    ``reject`` does for them (capacity ``customer``; a service that needs a manager answers
    the command's 409), then back to the portal's ticket."""

    @post(f"/portal/tickets/{{ref:str}}/{verb}", name=f"portal-ticket-{verb}",
          include_in_schema=False, status_code=303,
          opt={OPERATION_OPT: f"POST {API}/tickets/{{ref}}/{verb}", AUDIENCE_OPT: PORTAL})
    async def decide(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
        form = await request.form()

        def run() -> str:
            if verb == "reject":
                body = form_body(form, Reason)
                command: Any = RejectRequest(ref=ref, reason=body.reason, capacity=CUSTOMER)
            else:
                command = ApproveRequest(ref=ref, capacity=CUSTOMER)
            return str(run_form(request, state, form, command, ref).aggregate.number)

        number = await request.app.state.run_blocking(run)
        return Redirect(f"/portal/tickets/{number}", status_code=303)

    return decide


HANDLERS = [catalogue, define, *_request_pages("/ui", STAFF), portal_catalogue,
            *_request_pages("/portal", PORTAL),
            _portal_decision("approve"), _portal_decision("reject")]
