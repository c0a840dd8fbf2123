"""What the record pages share (problems, changes, knowledge articles, projects; issue 18):
which commands a page offers, the forms that run them, and the timeline.

- ``offered``: the commands a record's page shows a form for: the record's state admits the
  command (``application.command_state.state_refusal``, the API's ``409``), the domain lists
  it among the record's ``allowed_commands`` (so a gate that hides it, a change's missing
  reviews for ``start``, hides the form) and the caller's roles may call the API's command
  (``access.may_call``, the matrix).
- ``command_forms``: one ``POST /ui/<collection>/{ref}/<verb>`` handler per command (the
  portal's under ``/portal``), each governed by the API command's rule
  (``POST /api/v1/<collection>/{ref}/<verb>``). The form runs what the API route
  ``<label>-<verb>`` runs: its body type (``kit.COMMAND_OPT``) and its command builder
  (``kit.BUILD_OPT``), read from the route itself, then ``forms.run_form``; it answers ``303``
  back to the record's page (Post/Redirect/Get). A form whose fields do not make a body
  answers the state's ``409`` first, as the API's edge does (``command_state.check_state``).
- ``timeline``: a record's history (``desk.history``) as the page lists it.
- ``page_route``: a page's ``GET`` handler, run in a worker thread and governed by the API
  operation it shows (by default the API's ``GET`` of the same path).
- ``create_form``: ``POST <base>/<collection>``, the list page's form that makes a record as
  the API's ``POST`` does (the page's ``build`` gives the command), answering ``303`` to the
  new record's page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.response import Redirect

from adapters.http import kit
from adapters.http.access import AUDIENCE_OPT, OPERATION_OPT, STAFF, may_call, principal_of
from adapters.http.console.forms import form_body, run_form
from application.command_state import check_state, state_refusal

API = kit.API
#: A create form's command from the request, the app's state and the form.
Build = Callable[[Request[Any, Any, Any], State, Any], Any]


def api_operation(method: str, path: str) -> str:
    """The API operation a console path shows: ``/ui/risks/{ref:str}`` (or ``/portal/…``)
    -> ``GET /api/v1/risks/{ref}``."""
    rest = path.split("/", 2)[2].replace(":str}", "}")
    return f"{method} {API}/{rest}"


def page_route(path: str, name: str, *, audience: str = STAFF,
               operation: str | None = None) -> Callable[[Callable[..., Any]], Any]:
    """``GET path`` (a console page, Litestar's ``name``) run in a worker thread
    (``kit.threaded``), governed by ``operation`` (default ``api_operation("GET", path)``)
    for ``audience``."""
    def route(fn: Callable[..., Any]) -> Any:
        return get(path, name=name, include_in_schema=False,
                   opt={OPERATION_OPT: operation or api_operation("GET", path),
                        AUDIENCE_OPT: audience})(kit.threaded(fn))
    return route


def create_form(path: str, name: str, build: Build, *, audience: str = STAFF) -> Any:
    """``POST path``: the form that makes a record as the API's ``POST`` of the same path
    does (``api_operation``): ``build(request, state, form)`` gives the command (from the
    API's body type, ``forms.form_body``), ``forms.run_form`` runs it, and the answer is
    ``303`` to the new record's page, ``<path>/<number>``."""
    async def handler(request: Request[Any, Any, Any], state: State) -> Redirect:
        form = await request.form()

        def run() -> str:
            command = build(request, state, form)
            return f"{path}/{run_form(request, state, form, command).aggregate.number}"

        return Redirect(await request.app.state.run_blocking(run), status_code=303)

    handler.__name__ = name.replace("-", "_")
    return post(path, name=name, include_in_schema=False, status_code=303,
                opt={OPERATION_OPT: api_operation("POST", path), AUDIENCE_OPT: audience})(handler)


def operation(collection: str, verb: str) -> str:
    """The API operation (a key of ``access.RULES``) of a record command."""
    return f"POST {API}/{collection}/{{ref}}/{verb}"


def offered(request: Request[Any, Any, Any], record: Any, label: str, collection: str,
            verbs: Iterable[str]) -> list[str]:
    """The commands of ``verbs`` a page offers on ``record`` (see the module's docstring)."""
    principal = principal_of(request)
    allowed = set(record.allowed_commands())
    return [v for v in verbs if v in allowed and state_refusal(record, v, label) is None
            and may_call(principal, operation(collection, v))]


def api_command(request: Request[Any, Any, Any], label: str,
                verb: str) -> tuple[type, Callable[[str, Any], Any]]:
    """The body type and the command builder of the API's ``<label>-<verb>`` route."""
    index = request.app.get_handler_index_by_name(f"{label}-{verb}")
    if index is None:  # a console form names an API command that does not exist
        raise LookupError(f"no API command route {label}-{verb}")
    opt = index["handler"].opt
    return opt[kit.COMMAND_OPT], opt[kit.BUILD_OPT]


def command_forms(collection: str, label: str, verbs: Sequence[str], *, base: str = "/ui",
                  audience: str = STAFF) -> list[Any]:
    """``POST <base>/<collection>/{ref}/<verb>`` for each of ``verbs`` (the module's
    docstring), for ``audience`` (``access.STAFF`` on the desk, ``PORTAL`` on the portal)."""
    return [_command_form(collection, label, verb, base, audience) for verb in verbs]


def _command_form(collection: str, label: str, verb: str, base: str, audience: str) -> Any:
    def run(request: Request[Any, Any, Any], state: State, form: Any, ref: str) -> str:
        services = kit.services_of(state)
        body_type, build = api_command(request, label, verb)
        try:
            body = form_body(form, body_type, ZoneInfo(services.settings.timezone))
        except ValidationException:
            check_state(services.desk, ref, label, verb)  # the state before the fields
            raise
        result = run_form(request, state, form, build(ref, body), ref)
        return f"{base}/{collection}/{result.aggregate.number}"

    async def handler(request: Request[Any, Any, Any], state: State, ref: str) -> Redirect:
        form = await request.form()
        target = await request.app.state.run_blocking(run, request, state, form, ref)
        return Redirect(target, status_code=303)

    handler.__name__ = f"console_{base.strip('/')}_{label}_{verb}"
    where = base.strip("/").replace("/", "-")
    return post(f"{base}/{collection}/{{ref:str}}/{verb}", name=f"{where}-{label}-{verb}",
                include_in_schema=False, status_code=303,
                opt={OPERATION_OPT: operation(collection, verb), AUDIENCE_OPT: audience})(handler)


def timeline(entries: Iterable[Any], when: Callable[[str], str], *, shown: str = "",
             labels: str = "") -> list[dict[str, Any]]:
    """A record's history, newest first: each event's type, actor, recorded time and facts
    (its data without what every event carries; times read by ``when``, ``Words.when``).
    ``shown``: the event (type) whose facts the page already shows (what made the record),
    listed without them; ``labels``: the page's own words for the events (``rsk.event``:
    each event's ``label`` is ``rsk.event.<type>``)."""
    items = kit.history_items(entries)
    events = [{"version": h.version, "type": h.type, "actor": h.actor,
               "recorded_at": h.recorded_at,
               "facts": {} if h.type == shown else _facts(h.data, when)}
              for h in reversed(items)]
    if labels:
        for e in events:
            e["label"] = f"{labels}.{e['type']}"
    return events


#: What the timeline leaves out: what every event (and the value it records) carries, the
#: record's own number, and ids (numbers are shown).
_SKIP = {"actor", "at", "revision", "id", "timestamp"}
_SKIP_TOP = {*_SKIP, "number", "tickets"}
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _facts(data: dict[str, Any], when: Callable[[str], str], depth: int = 0) -> dict[str, Any]:
    """``data`` as texts by field (one nested level kept as a dict, as ``plan`` or
    ``contact``, so ``page``'s masking still finds every contact field by its name)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in (_SKIP if depth else _SKIP_TOP) or key.endswith("_id") \
                or value in (None, "", [], {}):
            continue
        if isinstance(value, dict) and depth == 0:
            out[key] = _facts(value, when, 1)
        else:
            out[key] = _text(value, when)
    return out


def _text(value: Any, when: Callable[[str], str]) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v, when)}" for k, v in value.items()
                         if v not in (None, ""))
    if isinstance(value, (list, tuple)):
        return "、".join(_text(v, when) for v in value)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, str) and _TIME.match(value):
        return when(value)
    return str(value)
