"""HTTP for changes (变更管理): ``/api/v1/changes`` and ``/api/v1/standard-changes``
(API.md "Problems, changes, projects"; ADR 0021, 0022).

``POST /changes`` requests one (``201`` + ``Location``); ``POST /changes/{ref}/<command>`` runs
``assess``, ``plan``, ``review``, ``customer_review``, ``consent``, ``approve_emergency``,
``start``, ``complete``, ``roll_back``, ``start_trial``, ``evaluate``, ``raise_improvement``,
``close`` and ``cancel``; each answers the change's view with ``ETag``, honours ``If-Match``
(``412``) and ``Idempotency-Key`` like the ticket commands (they share ``kit.run_command``,
through ``kit.Records``): each builds its command (``application.commands.changes``) from
the body. A refused gate is a ``409`` whose ``missing`` names every gate
not passed.

Reads: ``GET /changes/{ref}`` (``?as_of=``), ``/history``, the list
``GET /changes?status=&kind=&system=&origin=&limit=&cursor=`` and the calendar
``GET /changes/calendar?from=&to=&system=`` (scheduled windows with conflict warnings).
``PUT /standard-changes/{id}`` defines (or redefines) a standard-change model; ``GET`` lists
and reads them (``?as_of=``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from msgspec.structs import asdict
from litestar import Request, Response, get, put
from litestar.datastructures import State
from litestar.exceptions import ValidationException

from adapters.http.schemas import changes as cs
from adapters.http.schemas import common as s
from adapters.http import kit
from adapters.http.openapi.contract import also_answers
from adapters.http.params import AsOf, Cursor, RequiredFrom, RequiredTo, limit, listed, new_slug
from application import changes as uc
from application.commands.changes import (
    ApproveEmergency,
    Assess,
    CancelChange,
    CloseChange,
    Complete,
    Consent,
    CustomerReview,
    Evaluate,
    PlanChange,
    PutStandardModel,
    RaiseChangeImprovement,
    RequestChange,
    Review,
    RollBack,
    StartChange,
    StartTrial,
)
from domain.change import ChangeKind, PlanInput, Status
from domain.standard_change import SLUG as MODEL_SLUG
from domain.standard_change import ModelDefinition
from projections.change_list.projection import stamp
from projections.change_list.view import ChangeQuery

TAG = "changes"


CHANGES = kit.Records("changes", cs.ChangeView,
                      lambda result, desk: cs.change_view(result.aggregate))


def _origin(value: str | cs.OriginIn) -> str | uc.OriginRef:
    return value if isinstance(value, str) else uc.OriginRef(id=value.id, kind=value.kind)


@get(f"{kit.API}/changes/calendar", summary="Scheduled change windows, with conflict warnings",
     tags=[TAG])
@kit.threaded
def change_calendar(state: State, from_: RequiredFrom = None, to: RequiredTo = None,
                    system: str | None = None) -> cs.ChangeCalendar:
    services = kit.services_of(state)
    start = kit.period_bound(from_, "from", end=False)
    end = kit.period_bound(to, "to", end=True)
    if end <= start:
        raise ValidationException("empty period",
                                  extra=[{"key": "to", "message": "must be later than from"}])
    system = system.strip() if system and system.strip() else None
    kit.read_your_writes(services)
    items = [cs.calendar_item(e) for e in services.changes.calendar(stamp(start), stamp(end), system)]
    return cs.ChangeCalendar(start=s.utc(start), end=s.utc(end), system=system, items=items,
                             count=len(items), conflicts=sum(1 for i in items if i.conflicts))


def _request_change_command(request: Request[Any, Any, Any], state: State,
                            data: cs.RequestChange) -> RequestChange:
    fields = asdict(data)
    fields["origin"] = _origin(data.origin)
    return RequestChange(**fields)


request_change = CHANGES.creates(
    "request_change", RequestChange, cs.RequestChange,
    "Request a change",
    _request_change_command)


def _plan(ref: str, b: cs.PlanIn) -> PlanChange:
    schedule = b.schedule or cs.Schedule()
    budget = b.budget if b.budget is None or isinstance(b.budget, str) else f"{b.budget:g}"
    plan = PlanInput(
        goal=b.goal, content=b.content, steps=tuple(b.steps) if b.steps is not None else None,
        people=tuple(b.people) if b.people is not None else None, budget=budget,
        schedule_start=schedule.start, schedule_end=schedule.end, risk_plan=b.risk_plan,
        rollback_plan=b.rollback_plan)
    return PlanChange(ref=ref, plan=plan)


CHANGE_COMMANDS = [
    CHANGES.command(Assess, cs.Assess, "Assess risk and impact (a new revision)"),
    CHANGES.command(PlanChange, cs.PlanIn,
                    "Record the plan: every field required (a new revision)", _plan),
    CHANGES.command(Review, cs.ReviewIn, "Internal review of the current plan"),
    CHANGES.command(CustomerReview, cs.ReviewIn, "Customer review of the current plan"),
    CHANGES.command(Consent, cs.ConsentIn, "The customer's formal consent with its evidence"),
    CHANGES.command(ApproveEmergency, cs.EmergencyIn,
                    "Emergency approval: may start before the reviews (still owed before close)"),
    CHANGES.command(StartChange, s.Empty,
                    "Start the implementation (409 naming every missing gate)"),
    CHANGES.command(Complete, cs.CompleteIn, "Record the implementation's result"),
    CHANGES.command(RollBack, s.Reason, "Roll the change back"),
    CHANGES.command(StartTrial, cs.TrialIn, "Start the trial run"),
    CHANGES.command(Evaluate, cs.EvaluateIn, "Evaluate the effect against the goal"),
    CHANGES.command(
        RaiseChangeImprovement, cs.ImprovementIn,
        "Record a left-over issue's action as a follow-up change (reviews and consent again)"),
    CHANGES.command(CloseChange, cs.CloseIn, "Close (409 naming gates still owed)"),
    CHANGES.command(CancelChange, s.Reason, "Cancel before implementation"),
]


get_change = CHANGES.read("get_change", "A change (optionally as of a past time)",
                          uc.get_change, lambda c, now: cs.change_view(c))


change_history = CHANGES.history(
    "change_history", "Every event of a change, oldest first", uc.change_history)


_STATUSES = {x.value for x in Status}
_KINDS = {x.value for x in ChangeKind}
StatusFilter = listed(_STATUSES, "Change status")
KindFilter = listed(_KINDS, "Change kind")
Limit = limit(50)
ModelSlug = new_slug(MODEL_SLUG.pattern, "1 to 64 characters: lower-case letters, digits, "
                     "'.', '_' and '-', starting with a letter or digit")


@get(f"{kit.API}/changes", summary="List changes with filters", tags=[TAG])
@kit.threaded
def list_changes(
    state: State,
    status: StatusFilter = None,
    kind: KindFilter = None,
    system: str | None = None,
    origin: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> cs.ChangePage:
    services = kit.services_of(state)
    q = ChangeQuery(
        statuses=kit.split_values(status, "status", _STATUSES), kinds=kit.split_values(kind, "kind", _KINDS),
        system=system.strip() if system and system.strip() else None,
        origin=_origin_filter(origin), limit=kit.parse_limit(limit), after=kit.parse_cursor(cursor))
    kit.read_your_writes(services)
    page = services.changes.query(q)
    items = [cs.change_item(dict(r)) for r in page.rows]
    return cs.ChangePage(items=items, next_cursor=page.next_cursor, count=len(items))


def _origin_filter(value: str | None) -> str | None:
    """The origin filter as the list keeps it: an id in its canonical form, a number (or a
    project id) as given."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return str(UUID(text))
    except ValueError:
        return text


# ------------------------------------------------------------ standard-change models


@put(f"{kit.API}/standard-changes/{{slug:str}}", status_code=200,
     summary="Define or redefine a standard-change model (pre-approves standard changes)",
     tags=[TAG], responses=also_answers(201, "Defined: the model's first version",
                                        cs.StandardModelView))
@kit.threaded
def put_standard_change(request: Request[Any, Any, Any], state: State, slug: ModelSlug,
                        data: cs.StandardModelIn) -> Response[cs.StandardModelView]:
    definition = ModelDefinition.parse(
        name=data.name, description=data.description, systems=data.systems, steps=data.steps,
        risk=data.risk, approved_by=data.approved_by)
    return kit.put_definition(request, state, data,
                              PutStandardModel(slug=slug, definition=definition),
                              lambda model, desk: cs.model_view(model),
                              f"{kit.API}/standard-changes/{slug}")


@get(f"{kit.API}/standard-changes", summary="Every standard-change model", tags=[TAG])
@kit.threaded
def list_standard_changes(state: State) -> cs.StandardModelList:
    items = [cs.model_view(m) for m in uc.list_models(kit.services_of(state).desk)]
    return cs.StandardModelList(items=items, count=len(items))


@get(f"{kit.API}/standard-changes/{{slug:str}}", summary="A standard-change model", tags=[TAG])
@kit.threaded
def get_standard_change(state: State, slug: str, as_of: AsOf = None
                        ) -> Response[cs.StandardModelView]:
    m = uc.get_model(kit.services_of(state).desk, slug, as_of=kit.parse_as_of(as_of))
    return kit.versioned(cs.model_view(m), m.version)


HANDLERS = [change_calendar, request_change, *CHANGE_COMMANDS, get_change,
                   change_history, list_changes, put_standard_change, list_standard_changes,
                   get_standard_change]
