"""HTTP for configuration items (配置项): ``/api/v1/cis`` (issue 20 item 1, ADR 0063).

``POST /cis {class, name, customer, location?, asset_tag?, serial?, model?, vendor?,
warranty_end?, status?, attributes?}`` registers one (``201`` + ``Location``, ``id`` and
``number``). Commands: ``POST /cis/{ref}/update``, ``/change_status {status, reason}``,
``/relate {type, target}`` ("this CI <type> the target": ``runs_on``, ``depends_on``,
``installed_on``, ``connected_to``), ``/unrelate {relation, reason}``, ``/verify {round,
verdict, note}`` (核查). ``POST /cis/import {filename, content_base64, apply}`` previews or
applies a CSV/XLSX inventory with per-row errors.

Reads: ``GET /cis?customer=&class=&status=&q=&limit=&cursor=``, ``GET /cis/{ref}``
(``?as_of=``), ``/history``, ``GET /cis/{ref}/impact?depth=&limit=`` (every CI that depends
on it transitively, with their customers and systems; bounded), ``GET /cis/{ref}/records``
(its tickets, problems and changes and the repeat-fault suggestion) and ``GET
/cis/libraries`` (each customer's library, flagged when a calendar month went by without a
change). A requester reads only their organisation's CIs: the list is filtered to it,
another organisation's CI answers ``404``, and an impact lists only their own CIs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.http import kit
from adapters.http.access import own_customer, scoped_customer
from adapters.http.params import AsOf, Cursor, limit, listed
from adapters.http.schemas import cis as cs
from adapters.http.schemas import common as s
from adapters.inputs import inventory
from application import ci_import
from application import cis as uc
from adapters.http.schemas.tickets import TicketView
from application.commands.cis import (ChangeCiStatus, NameTicketCis,
                                      RecordVerificationRound, RegisterCi, RelateCi,
                                      RoundVerdict, UnrelateCi, UpdateCi, VerifyCi)
from application.desk import CommandResult, ServiceDesk
from domain.ci import SYSTEM_CLASSES, ConfigurationItem, Status
from domain.errors import InvalidCommand
from projections.ci_index.view import CiQuery

TAG = "cis"


def _present(result: CommandResult, desk: ServiceDesk) -> cs.CiView:
    return cs.ci_view(result.aggregate, desk.clock.now().date())


CIS = kit.Records("cis", cs.CiView, _present)


def _register_command(request: Request[Any, Any, Any], state: State,
                      data: cs.RegisterCi) -> RegisterCi:
    customer = own_customer(request, data.customer)
    classes = kit.services_of(state).settings.ci_classes
    return cs.register_command(data, customer, classes)


register = CIS.creates(
    "register", RegisterCi, cs.RegisterCi,
    "Register a configuration item (CI-…)",
    _register_command)


@post(f"{kit.API}/cis/{{ref:str}}/update", tags=[TAG], status_code=200,
      summary="Change a CI's describing fields (only those given)",
      opt={kit.COMMAND_CLASS_OPT: UpdateCi})
@kit.threaded
def update(request: Request[Any, Any, Any], state: State, ref: str,
           data: cs.UpdateCi) -> Response[cs.CiView]:
    classes = kit.services_of(state).settings.ci_classes
    return kit.run_command(request, state, data, cs.update_command(ref, data, classes), ref,
                           respond=CIS.respond)


change_status = CIS.command(ChangeCiStatus, cs.ChangeCiStatus,
                            "Change a CI's status (in_use, spare, in_repair, retired)")
relate = CIS.command(RelateCi, cs.RelateCi, "Relate: this CI runs_on / depends_on / "
                     "installed_on / connected_to the target",
                     build=lambda ref, b: RelateCi(ref=ref, type=b.type, target_ci=b.target))
unrelate = CIS.command(UnrelateCi, cs.UnrelateCi, "Remove a relation of this CI")
verify = CIS.command(VerifyCi, cs.VerifyCi, "Record a verification round's verdict (核查)")
name_ticket_cis = kit.command_route(
    "tickets", NameTicketCis, cs.NameCis, "Name the configuration items a ticket concerns",
    respond=kit.respond_ticket, view=TicketView)


def _readable(request: Request[Any, Any, Any], state: State, ref: str,
              as_of: str | None = None) -> Any:
    desk = kit.services_of(state).desk
    return uc.readable(uc.get_ci(desk, ref, as_of=kit.parse_as_of(as_of)),
                       scoped_customer(request, None))


@get(f"{kit.API}/cis/{{ref:str}}", tags=[TAG],
     summary="A configuration item (optionally as of a past time)")
@kit.threaded
def get_ci(request: Request[Any, Any, Any], state: State, ref: str,
           as_of: AsOf = None) -> Response[cs.CiView]:
    ci = _readable(request, state, ref, as_of)
    today = kit.services_of(state).desk.clock.now().date()
    return kit.versioned(cs.ci_view(ci, today), ci.version)


ci_history = CIS.history("ci_history",
                         "Every event of a configuration item, oldest first", uc.ci_history)


Depth = Annotated[int, QueryParameter(description="Relations followed, 1 to 20", ge=1, le=20)]
ImpactLimit = Annotated[int, QueryParameter(description="CIs listed, 1 to 10000", ge=1,
                                            le=10_000)]


@get(f"{kit.API}/cis/{{ref:str}}/impact", tags=[TAG],
     summary="Every CI that depends on this one transitively, with customers and systems")
@kit.threaded
def impact(request: Request[Any, Any, Any], state: State, ref: str, depth: Depth = 10,
           limit: ImpactLimit = 1000) -> cs.ImpactView:
    services = kit.services_of(state)
    ci = _readable(request, state, ref)
    kit.read_your_writes(services)
    index = services.cis
    own = scoped_customer(request, None)
    found = index.impact(str(ci.id), depth=depth, limit=limit, customer=own)
    rows = index.rows_of([a.id for a in found.affected] + [a.parent for a in found.affected])
    start = index.get(str(ci.id))
    affected = [cs.AffectedCi(
        id=a.id, number=rows[a.id]["number"], name=rows[a.id]["name"],
        ci_class=rows[a.id]["ci_class"], customer=rows[a.id]["customer"],
        status=rows[a.id]["status"], depth=a.depth, via=a.via,
        depends_on=rows[a.parent]["number"] if a.parent in rows else "")
        for a in found.affected]
    customers = sorted({a.customer for a in affected} | {ci.customer})
    return cs.ImpactView(
        ci=cs.ci_item(start) if start else cs.CiItem(str(ci.id), ci.number, ci.name,
                                                     ci.ci_class, ci.customer,
                                                     ci.status.value),
        affected=affected, count=len(affected), customers=customers,
        systems=[a for a in affected if a.ci_class in SYSTEM_CLASSES], depth=found.depth,
        truncated=found.truncated)


@get(f"{kit.API}/cis/{{ref:str}}/records", tags=[TAG],
     summary="The tickets, problems and changes naming a CI, and the repeat-fault suggestion")
@kit.threaded
def records(request: Request[Any, Any, Any], state: State, ref: str) -> dict[str, Any]:
    services = kit.services_of(state)
    ci = _readable(request, state, ref)
    kit.read_your_writes(services)
    found = uc.naming_records(services.desk, services.cis, str(ci.id))
    now = services.desk.clock.now()
    settings = services.settings
    repeat = uc.repeat_fault(found, now, settings.ci_repeat_tickets, settings.ci_repeat_days)
    return {
        "ci": s.LinkedRecord(str(ci.id), ci.number),
        "tickets": [_record(r) for r in found if r.kind == "ticket"],
        "problems": [_record(r) for r in found if r.kind == "problem"],
        "changes": [_record(r) for r in found if r.kind == "change"],
        "suggestion": None if repeat is None else {
            "kind": "open_problem", "tickets": list(repeat.tickets), "days": repeat.days,
            "threshold": repeat.threshold,
            "message": (f"{ci.number} was named by {len(repeat.tickets)} tickets in "
                        f"{repeat.days} days: open a problem")},
    }


def _record(r: uc.NamingRecord) -> dict[str, Any]:
    return {"id": r.id, "number": r.number, "title": r.title, "status": r.status,
            "named_at": s.utc(r.named_at)}


StatusFilter = listed([x.value for x in Status], "Status")
Limit = limit(50)


@get(f"{kit.API}/cis", tags=[TAG],
     summary="List configuration items (requesters: their organisation's)")
@kit.threaded
def list_cis(request: Request[Any, Any, Any], state: State, customer: str | None = None,
             ci_class: Annotated[str | None, QueryParameter(name="class", max_length=200,
                                                            description="Classes, comma-"
                                                            "separated")] = None,
             status: StatusFilter = None, q: str | None = None, limit: Limit = 50,
             cursor: Cursor = None) -> cs.CiPage:
    services = kit.services_of(state)
    kit.read_your_writes(services)
    wanted = scoped_customer(request, customer or None)
    rows, more = services.cis.query(CiQuery(
        customer=" ".join(wanted.split()) if wanted else None,
        classes=frozenset(kit.split_values(ci_class, "class")),
        statuses=frozenset(kit.split_values(status, "status", {x.value for x in Status})),
        text=(q or "")[:200], limit=kit.parse_limit(limit),
        offset=kit.parse_cursor(cursor) or 0))
    items = [cs.ci_item(r) for r in rows]
    return cs.CiPage(items=items, next_cursor=None if more is None else str(more),
                     count=len(items))


@get(f"{kit.API}/cis/libraries", tags=[TAG],
     summary="Each customer's configuration library, flagged when not updated for a "
             "calendar month")
@kit.threaded
def libraries(state: State) -> dict[str, Any]:
    services = kit.services_of(state)
    kit.read_your_writes(services)
    today = services.desk.clock.now().date()
    return {"items": [{"customer": c, "count": n, "updated_at": s.utc_opt(at), "stale": stale}
                      for c, n, at, stale in uc.stale_libraries(services.cis, today)]}


@post(f"{kit.API}/cis/import", status_code=200, tags=[TAG],
      summary="Preview or apply an inventory (CSV or XLSX) with per-row errors")
@kit.threaded
def import_cis(request: Request[Any, Any, Any], state: State,
               data: cs.ImportCis) -> dict[str, Any]:
    services = kit.services_of(state)
    try:
        content = base64.b64decode(data.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCommand.field("content_base64", "not base64") from None
    try:
        rows = inventory.read_rows(data.filename, content)
    except inventory.UnreadableFile as e:  # a file we cannot read: 422 (its form was fine)
        raise InvalidCommand.field("content_base64", str(e)) from None
    preview = ci_import.check(rows, services.settings.ci_classes)
    created: list[str] = []
    if data.apply and not preview.errors:
        actor = kit.actor_of(request)
        created = ci_import.apply(services.desk, preview, actor, services.settings.ci_classes)
    return {"rows": preview.total, "valid": len(preview.valid),
            "errors": [{"row": e.row, "field": e.field, "message": e.message}
                       for e in preview.errors],
            "applied": bool(created), "created": len(created),
            "numbers": created[:100]}


@post(f"{kit.API}/cis/verification", status_code=200, tags=[TAG],
      summary="Record a verification round's run (核查): a verdict per CI checked",
      opt={kit.COMMAND_CLASS_OPT: RecordVerificationRound})
@kit.threaded
def verification_run(request: Request[Any, Any, Any], state: State,
                     data: cs.VerificationRun) -> Response[dict[str, Any]]:
    command = RecordVerificationRound(round=data.round, verdicts=tuple(
        RoundVerdict(v.ci, v.verdict, v.note) for v in data.verdicts))

    def respond(result: CommandResult, desk: ServiceDesk) -> Response[dict[str, Any]]:
        ids = {e.originator_id for e in result.events
               if isinstance(e, ConfigurationItem.Verified)}
        numbers = sorted(desk.load(i).number for i in ids)
        return Response({"round": data.round, "recorded": len(numbers), "cis": numbers})

    return kit.run_command(request, state, data, command, respond=respond)


@get(f"{kit.API}/cis/verification", tags=[TAG],
     summary="A verification round over a customer's library: verdicts and CIs not yet checked")
@kit.threaded
def verification(state: State, round: str | None = None,
                 customer: str | None = None) -> dict[str, Any]:
    services = kit.services_of(state)
    kit.read_your_writes(services)
    index = services.cis
    rounds = index.rounds()
    name = (round or "").strip() or (rounds[-1] if rounds else "")
    wanted = " ".join(customer.split()) if customer and customer.strip() else None
    done, pending = index.verification(name, wanted)
    return {"round": name, "customer": wanted, "rounds": rounds,
            "verified": [{"ci": cs.ci_item(r), "verdict": v, "note": note,
                          "at": s.utc(at), "by": by} for r, (v, note, at, by) in done],
            "pending": [cs.ci_item(r) for r in pending],
            "counts": {"verified": len(done), "pending": len(pending), **{
                k: sum(1 for _, (v, *_rest) in done if v == k)
                for k in ("confirmed", "corrected", "missing")}}}


HANDLERS = [verification_run, verification, register, update, change_status, relate, unrelate, verify, name_ticket_cis,
            libraries, import_cis,
            get_ci, ci_history, impact, records, list_cis]
