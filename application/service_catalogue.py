"""The service catalogue (ADR 0061): reads of the catalogue services, the check of a service's
request form (a JSON Schema, validated with the ``jsonschema`` library) and what a request
made through the catalogue takes from its service.

The commands are values in ``application.commands.service_catalogue``; ``RegisterTicket``
hands a request with a ``service_id`` to :func:`register_request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.validators import validator_for

from application.errors import RecordNotFound
from domain.errors import FieldError, InvalidCommand
from domain.service_catalogue import CatalogueService, ServiceDirectory, service_id
from domain.sla import valid_slug
from domain.ticket import Ticket

if TYPE_CHECKING:
    from application.commands.tickets import RegisterTicket
    from application.desk import Context, ServiceDesk

LABEL = "service"
MAX_FORM_ERRORS = 50


# ------------------------------------------------------------------ reads


def find_service(desk: ServiceDesk, slug: str) -> CatalogueService | None:
    """The service ``slug`` as it is now; ``None`` when there is none."""
    if not isinstance(slug, str) or not valid_slug(slug):
        return None
    record = desk.load_current(service_id(slug))
    return record if isinstance(record, CatalogueService) else None


def get_service(desk: ServiceDesk, slug: str, as_of: datetime | None = None) -> CatalogueService:
    """The service ``slug`` now, or the version in force at ``as_of``; ``RecordNotFound``."""
    if not valid_slug(slug):
        raise RecordNotFound(slug, LABEL)
    if as_of is None:
        found = find_service(desk, slug)
        if found is None:
            raise RecordNotFound(slug, LABEL)
        return found
    record: CatalogueService = desk.get_record(service_id(slug), CatalogueService, LABEL, as_of)
    return record


def list_services(desk: ServiceDesk) -> list[CatalogueService]:
    """Every service (current versions), in the order they were first defined."""
    directory: ServiceDirectory | None = desk.load(ServiceDirectory.ID)
    if directory is None:
        return []
    return [s for s in (find_service(desk, slug) for slug in directory.slugs) if s is not None]


# ------------------------------------------------------------- the form


def _validator_class(schema: Mapping[str, Any]) -> Any:
    """The validator of the schema's ``$schema`` dialect (2020-12 when it names none)."""
    return validator_for(schema, default=Draft202012Validator)


def check_schema(schema: Mapping[str, Any]) -> None:
    """A 422 naming ``form_schema`` (and where in it) when ``schema`` is not a JSON Schema,
    or when it does not describe an object (a form is an object of named fields)."""
    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as e:
        where = "".join(f".{p}" for p in e.absolute_path)
        raise InvalidCommand.field(f"form_schema{where}",
                                   f"not a valid JSON Schema: {e.message}") from None
    kind = schema.get("type")
    if kind is not None and kind != "object":
        raise InvalidCommand.field("form_schema.type",
                                   "a request form is an object: type must be \"object\"")


def _fields_of(error: ValidationError) -> list[str]:
    """The form fields an error is about, as ``form.a.b`` (``form.items[0]`` for arrays):
    the missing property for ``required``, the unexpected ones for
    ``additionalProperties``, else where the error is."""
    base = "form"
    for part in error.absolute_path:
        base += f"[{part}]" if isinstance(part, int) else f".{part}"
    instance = error.instance
    if error.validator == "required" and isinstance(instance, Mapping):
        missing = [p for p in error.validator_value if p not in instance]
        return [f"{base}.{p}" for p in missing] or [base]
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        known = schema.get("properties") or {}
        extra = [k for k in instance if k not in known]
        return [f"{base}.{k}" for k in extra] or [base]
    return [base]


def validate_form(schema: Mapping[str, Any], form: Any) -> None:
    """A 422 naming every form field that does not satisfy ``schema`` (``form.hostname``),
    with the schema's own message; formats (``email``, ``date`` …) are checked."""
    cls = _validator_class(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for error in sorted(validator.iter_errors(form), key=lambda e: [str(p) for p in e.path]):
        for field in _fields_of(error):
            if (field, error.message) not in seen:
                seen.add((field, error.message))
                errors.append(FieldError(field, error.message))
        if len(errors) >= MAX_FORM_ERRORS:
            break
    if errors:
        raise InvalidCommand(errors)


# ------------------------------------------------------------- requests


def register_request(command: RegisterTicket, ctx: Context) -> Any:
    """``RegisterTicket`` with a ``service_id``: the form validated against the service's
    current version (422 naming ``service_id``, or the form's fields), the ticket registered
    with the service's SLA policy, category and priority where the request gives none, and
    ``Ticket.request_service`` → ``Ticket.ServiceRequested`` in the same save (a service
    that needs an approval leaves it ``awaiting_approval``)."""
    slug = command.service_id
    if slug is None:
        raise InvalidCommand.field("service_id", "a form is submitted for a catalogue "
                                   "service: name it (GET /api/v1/catalogue)")
    service = find_service(ctx.desk, slug)
    if service is None:
        raise InvalidCommand.field("service_id", f"no catalogue service {slug!r}")
    d = service.definition
    form = command.form if command.form is not None else {}
    if not isinstance(form, Mapping):
        raise InvalidCommand.field("form", "an object of the service's form fields")
    validate_form(d.form_schema, form)
    category = command.category or d.category
    classified = None not in (command.type, category, command.urgency, command.impact,
                              command.importance)
    priority = command.priority
    reason = command.override_reason
    if priority is None and not classified:
        priority = d.priority
        reason = reason or f"服务目录 {slug} 的默认优先级"  # the service's priority
    plain = replace(command, service_id=None, form=None,
                    sla_policy=command.sla_policy or d.sla_policy,
                    category=category,
                    priority=priority, override_reason=reason)
    saved = plain.decide(None, ctx)
    ticket: Ticket = saved[0] if isinstance(saved, tuple) else saved
    ticket.request_service(service_id=slug, service_version=service.version,
                           service_name=d.name, form=dict(form), approval=d.approval,
                           actor=ctx.actor, at=ctx.at)
    return saved
