"""Wire types of agreements -- SLA / OLA / UC (ADR 0066).

Bodies are strict (unknown fields refused). Only ``valid_to`` is needed of every agreement,
and the party of its kind: ``customer`` (sla), ``groups`` (ola) or ``vendor`` (uc), or
``parties``; left out, ``kind`` follows the party, ``title`` is the kind and the party and
``valid_from`` the day it is concluded. The domain answers one 422 naming every field refused.
Targets are ISO 8601 durations per priority: ``{"P1": {"response": "PT2H", "resolution":
"PT4H"}}``. Times in answers are UTC; the validity is in whole days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec

from msgspec import Meta, Struct

from adapters.http.schemas import common as s
from application.agreements import AgreementCompliance, UcClock
from application.commands.agreements import ConcludeAgreement as Conclude
from application.commands.agreements import ReviseAgreement as Revise
from domain.agreement import Agreement, Target
from domain.errors import InvalidCommand

Names = Annotated[list[s.Short], Meta(max_length=100)]


Span = s.Short | int | float  # an ISO 8601 duration ("PT2H"), "2h" / "30m" / "3d", or minutes


class TargetIn(s.Input):
    response: Span | None = None
    resolution: Span | None = None
    response_minutes: int | float | None = None
    resolution_minutes: int | float | None = None


class TargetItem(TargetIn, kw_only=True):
    priority: s.Short


Targets = Annotated[dict[str, TargetIn], Meta(max_length=10)] | Annotated[
    list[TargetItem], Meta(max_length=10)]
Day = s.Short  # an ISO date (or an ISO time with an offset: its day there)


class ConcludeAgreement(s.Input):
    kind: s.Short = ""  # sla | ola | uc (left out: from the party named)
    title: s.Short = ""
    customer: s.Short = ""  # sla: the customer (id)
    groups: Names = []  # ola: the internal groups bound
    vendor: s.Short = ""  # uc: the vendor
    parties: Names = []  # instead of customer / groups / vendor: the other party (parties)
    services: Names = []  # the services covered (none: all of the parties' tickets)
    targets: Targets = {}
    sla_policy: s.Short = ""  # the SLA policy the agreement refers to (its id)
    valid_from: Day | None = None
    valid_to: Day | None = None
    notes: s.Text = ""


class ReviseAgreement(s.Input):
    reason: s.Line = ""
    title: s.Short | None = None
    customer: s.Short | None = None
    groups: Names | None = None
    vendor: s.Short | None = None
    services: Names | None = None
    targets: Targets | None = None
    sla_policy: s.Short | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None
    notes: s.Text | None = None


class TerminateAgreement(s.Input):
    reason: s.Line


class TargetView(Struct):
    priority: str
    response: str | None  # ISO 8601 duration
    resolution: str | None


class AgreementView(Struct):
    id: str
    number: str
    kind: str  # sla | ola | uc
    title: str
    parties: list[str]
    customer: str
    groups: list[str]
    vendor: str
    services: list[str]
    targets: list[TargetView]
    sla_policy: str
    valid_from: date
    valid_to: date
    phase: str  # pending | in_force | expired | terminated, on the day of the answer
    expiring: bool  # ends within 30 days
    days_left: int
    status: str  # active | terminated
    agreement_version: int  # the agreement's own version (1, then each revision)
    notes: str
    concluded_by: str
    concluded_at: datetime
    expiry_warned: bool
    terminated_at: datetime | None
    terminate_reason: str | None
    version: int


class AgreementPage(Struct):
    items: list[AgreementView]
    next_cursor: str | None
    count: int


class ClockFigures(Struct):
    met: int
    breached: int
    pending: int
    met_pct: float | None


class AgreementComplianceView(Struct):
    agreement: s.LinkedRecord
    kind: str
    period_start: datetime
    period_end: datetime
    now: datetime
    tickets: int
    response: ClockFigures
    resolution: ClockFigures
    breached_tickets: list[str]


class TicketAgreements(Struct):
    ticket: s.LinkedRecord
    agreements: list[AgreementView]


class UcClockView(Struct):
    """A UC's clock on a repair order: from sending to the vendor to the return."""

    agreement: s.LinkedRecord
    title: str
    priority: str | None  # the target's priority
    target: str | None  # the promised repair (resolution) time, ISO 8601
    started: datetime
    due: datetime | None
    stopped: datetime | None
    state: str | None  # met | breached | running (None: the UC names no repair time)


class RepairAgreements(Struct):
    repair: s.LinkedRecord
    vendor: str
    clocks: list[UcClockView]


def uc_clock_view(c: UcClock) -> UcClockView:
    return UcClockView(
        agreement=s.LinkedRecord(str(c.agreement.id), c.agreement.number),
        title=c.agreement.title, priority=c.target.priority if c.target else None,
        target=duration(c.target.resolution) if c.target else None, started=s.utc(c.started),
        due=s.utc_opt(c.due), stopped=s.utc_opt(c.stopped), state=c.state)


def duration(value: timedelta | None) -> str | None:
    """``PT2H``, ``P3D``, ``PT1H30M``: an ISO 8601 duration as people write them."""
    if value is None:
        return None
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((h, "H"), (m, "M"), (sec, "S")) if n)
    return f"P{f'{days}D' if days else ''}{f'T{clock}' if clock else ''}" if seconds else "PT0S"


def agreement_view(a: Agreement, today: date) -> AgreementView:
    return s.copied(
        AgreementView, a,
        id=str(a.id), kind=a.kind.value,
        parties=list(a.parties), groups=list(a.groups),
        services=list(a.services),
        targets=[TargetView(t.priority, duration(t.response), duration(t.resolution))
                 for t in a.targets],
        phase=a.phase(today).value, expiring=a.expiring(today), days_left=a.days_left(today),
        status=a.status.value,
        concluded_at=s.utc(a.created_on),
        expiry_warned=a.expiry_warned_for == a.valid_to,
        terminated_at=s.utc_opt(a.terminated_at))


def compliance_view(c: AgreementCompliance) -> AgreementComplianceView:
    def clock(x: object) -> ClockFigures:
        return ClockFigures(x.met, x.breached, x.pending, x.met_pct)  # type: ignore[attr-defined]

    return AgreementComplianceView(
        agreement=s.LinkedRecord(str(c.agreement.id), c.agreement.number),
        kind=c.agreement.kind.value, period_start=s.utc(c.period_start),
        period_end=s.utc(c.period_end), now=s.utc(c.now), tickets=c.tickets,
        response=clock(c.response), resolution=clock(c.resolution),
        breached_tickets=c.breached_tickets)


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def span(value: Any, field: str) -> timedelta | None:
    """A target time: an ISO 8601 duration, ``2h`` / ``30m`` / ``3d``, or a number of minutes;
    a 422 naming ``field`` otherwise."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(minutes=value)
        if text.upper().startswith("P"):
            return msgspec.convert(text.upper(), timedelta)
        if text[-1:].lower() in _UNITS and text[:-1].replace(".", "", 1).isdigit():
            return timedelta(seconds=float(text[:-1]) * _UNITS[text[-1].lower()])
        return timedelta(minutes=float(text))
    except (msgspec.ValidationError, ValueError, OverflowError):
        raise InvalidCommand.field(field, "a duration: ISO 8601 (PT2H), 2h / 30m / 3d, or "
                                          "minutes") from None


def day(value: str | None, field: str) -> date | None:
    """An ISO date, or the day of an ISO time with an offset; a 422 naming ``field``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else \
            datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise InvalidCommand.field(field, "an ISO date (2026-12-31)") from None


def _targets(targets: Any) -> tuple[Target, ...] | None:
    if targets is None:
        return None
    pairs = ([(t.priority, t) for t in targets] if isinstance(targets, list)
             else list(targets.items()))
    out = []
    for priority, t in pairs:
        name = f"targets.{priority}"
        response = span(t.response, f"{name}.response") if t.response_minutes is None \
            else span(t.response_minutes, f"{name}.response_minutes")
        resolution = span(t.resolution, f"{name}.resolution") if t.resolution_minutes is None \
            else span(t.resolution_minutes, f"{name}.resolution_minutes")
        out.append(Target(priority, response, resolution))
    return tuple(out)


def _party(kind: str, body: ConcludeAgreement) -> dict[str, Any]:
    """``customer`` / ``groups`` / ``vendor``, from ``parties`` where the body names its
    parties that way (the provider itself left out)."""
    others = [x for x in body.parties if x.strip().lower() not in ("provider", "us", "我方")]
    k = kind.strip().lower()
    return {"customer": body.customer or (others[0] if k == "sla" and others else ""),
            "groups": tuple(body.groups) or (tuple(others) if k == "ola" else ()),
            "vendor": body.vendor or (others[0] if k == "uc" and others else "")}


def conclude_command(body: ConcludeAgreement) -> Conclude:
    """The command of a concluding body (the API's and the console's form)."""
    return Conclude(
        kind=body.kind, title=body.title, **_party(body.kind, body),
        services=tuple(body.services), targets=_targets(body.targets) or (),
        sla_policy=body.sla_policy, valid_from=day(body.valid_from, "valid_from"),
        valid_to=day(body.valid_to, "valid_to"), notes=body.notes)


def revise_command(ref: str, body: ReviseAgreement) -> Revise:
    return Revise(
        ref=ref, reason=body.reason, title=body.title, customer=body.customer,
        groups=None if body.groups is None else tuple(body.groups), vendor=body.vendor,
        services=None if body.services is None else tuple(body.services),
        targets=_targets(body.targets), sla_policy=body.sla_policy,
        valid_from=day(body.valid_from, "valid_from"), valid_to=day(body.valid_to, "valid_to"),
        notes=body.notes)
