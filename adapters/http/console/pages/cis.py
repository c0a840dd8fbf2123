"""Configuration items on the console (配置项, issue 20 item 1, ADR 0063).

- ``GET /ui/cis?q=&customer=&class=&status=``: the configuration library as ``GET
  /api/v1/cis`` lists it, each customer's library with its monthly-update flag (``GET
  /api/v1/cis/libraries``) and, for the roles that may register, the form that registers a CI
  as ``POST /api/v1/cis`` does (``POST /ui/cis``).
- ``GET /ui/cis/{ref}``: one CI -- its facts and attributes, its relations both ways, what
  depends on it (the impact walk, ``GET /api/v1/cis/{ref}/impact``), the tickets, problems and
  changes naming it with the repeat-fault suggestion (``…/records``), its verification verdicts,
  its timeline, and the ``change_status`` / ``relate`` / ``verify`` forms
  (``console.records``).

Each page is governed by the rule of the API operation it shows (``OPERATION_OPT``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.response import Template

from adapters.http import kit
from adapters.http.access import may_call, principal_of
from adapters.http.console.records import command_forms, create_form, offered, page_route, timeline
from adapters.http.console.render import page, words
from adapters.http.schemas import cis as cs
from application import cis as uc
from domain.ci import RelationType, Status, Verdict
from projections.ci_index.view import CiQuery

COLLECTION, LABEL = "cis", "configuration item"
VERBS = ("change_status", "relate", "verify")
PAGE_SIZE = 50
IMPACT_SHOWN = 50
API = kit.API
FIELDS = ("class", "name", "customer", "location", "asset_tag", "serial", "model", "vendor",
          "warranty_end", "status")


@page_route("/ui/cis", "console-cis")
def ci_list(request: Request[Any, Any, Any], state: State, q: str | None = None,
            customer: str | None = None, ci_class: str | None = None,
            status: str | None = None, cursor: str | None = None) -> Template:
    services = kit.services_of(state)
    kit.read_your_writes(services)
    rows, more = services.cis.query(CiQuery(
        customer=" ".join(customer.split()) if customer and customer.strip() else None,
        classes=frozenset(kit.split_values(ci_class, "class")),
        statuses=frozenset(kit.split_values(status, "status", {s.value for s in Status})),
        text=(q or "")[:200], limit=PAGE_SIZE, offset=kit.parse_cursor(cursor) or 0))
    libraries = []
    if may_call(principal_of(request), f"GET {API}/cis/libraries"):
        today = services.desk.clock.now().date()
        libraries = [{"customer": c, "count": n, "updated_at": at, "stale": stale}
                     for c, n, at, stale in uc.stale_libraries(services.cis, today)]
    return page(request, "cis/list.html", items=[cs.ci_item(r) for r in rows],
                next_cursor=more, libraries=libraries,
                filters={"q": q or "", "customer": customer or "", "ci_class": ci_class or "",
                         "status": status or ""},
                classes=services.settings.ci_classes, statuses=[s.value for s in Status])


def _register(request: Request[Any, Any, Any], state: State, form: Any) -> Any:
    """Registers as ``POST /api/v1/cis`` does (its body, its command)."""
    values = {k: str(form.get(k)).strip() for k in FIELDS if str(form.get(k) or "").strip()}
    try:
        body = msgspec.convert(values, cs.RegisterCi, strict=False)
    except msgspec.ValidationError as e:
        field = str(e).rsplit("`$.", 1)[-1].rstrip("`") if "`$." in str(e) else "form"
        raise ValidationException("the form has invalid fields", extra=[
            {"key": field, "message": str(e)}]) from None
    if not body.customer:
        raise ValidationException("customer is required", extra=[
            {"key": "customer", "message": "required"}])
    return cs.register_command(body, body.customer, kit.services_of(state).settings.ci_classes)


register = create_form("/ui/cis", "console-cis-register", _register)


@page_route("/ui/cis/{ref:str}", "console-ci")
def ci_page(request: Request[Any, Any, Any], state: State, ref: str) -> Template:
    services = kit.services_of(state)
    desk, index = services.desk, services.cis
    ci = uc.get_ci(desk, ref)
    kit.read_your_writes(services)
    now = desk.clock.now()
    view = cs.ci_view(ci, now.date())
    outgoing, incoming = index.relations_of(str(ci.id))
    rows = index.rows_of([o for _, _, o in outgoing] + [o for _, _, o in incoming])
    impact = index.impact(str(ci.id))
    affected = index.rows_of([a.id for a in impact.affected[:IMPACT_SHOWN]])
    found = uc.naming_records(desk, index, str(ci.id))
    settings = services.settings
    repeat = uc.repeat_fault(found, now, settings.ci_repeat_tickets, settings.ci_repeat_days)
    return page(
        request, "cis/page.html", ci=view,
        relations_out=[{"type": t, "ci": rows.get(o)} for _, t, o in outgoing if o in rows],
        relations_in=[{"type": t, "ci": rows.get(o)} for _, t, o in incoming if o in rows],
        impact={"count": len(impact.affected), "truncated": impact.truncated,
                "customers": sorted({r["customer"] for r in index.rows_of(
                    a.id for a in impact.affected).values()}),
                "items": [{"depth": a.depth, "via": a.via, "ci": affected[a.id]}
                          for a in impact.affected[:IMPACT_SHOWN] if a.id in affected]},
        records={k: [r for r in found if r.kind == k] for k in ("ticket", "problem", "change")},
        repeat=repeat, commands=offered(request, ci, LABEL, COLLECTION, VERBS),
        statuses=[s.value for s in Status], relation_types=[t.value for t in RelationType],
        verdicts=[v.value for v in Verdict],
        timeline=timeline(uc.ci_history(desk, ci.id), words(request).when))


HANDLERS = [ci_list, register, ci_page, *command_forms(COLLECTION, LABEL, VERBS)]
