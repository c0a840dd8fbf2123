"""Ticket workloads for the store, view and runner tests.

* ``ticket_in_state`` drives a ``Ticket`` aggregate (domain only, no store) to a status;
  ``view_dataset`` builds a fixed set of tickets whose list rows are known in advance and
  interleaves their events into ``Positioned`` events, as the runner would deliver them.
* ``drive_desk`` runs a seeded random walk of valid commands through ``ServiceDesk``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from application.commands import tickets as cmd
from application.desk import ServiceDesk
from application.ports import FixedClock
from domain.priority import Impact, Importance, Urgency
from domain.ticket import TAKES_INFORMATION, Channel, Contact, Status, Ticket, TicketType
from projections.base import Positioned

BASE = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CONTACT = Contact(name="王五", phone="13800001234", email="wang@example.com")

# (urgency, impact, importance) that the default matrix maps to each priority.
CLASSIFY = {
    "P1": dict(urgency="very_urgent", impact="all", importance="very_important"),
    "P2": dict(urgency="urgent", impact="some", importance="important"),
    "P3": dict(urgency="not_urgent", impact="single", importance="not_important"),
}
ACTORS = ("zhang", "li", "wang")
RESOLUTION = dict(resolution="重启 ERP 应用服务器并清理会话表", root_cause="会话表写满")


def ticket_id(n: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"opsledger-test:ticket:{n}")


def register(n: int, *, customer: str = "客户A", at: datetime = BASE, **kwargs: Any) -> Ticket:
    return Ticket.register(
        id=ticket_id(n),
        number=f"SR-20260302-{n:03d}",
        customer=customer,
        contact=CONTACT,
        channel=Channel.WEB,
        title=f"ticket {n}",
        description="ERP 登录报 500",
        affected_system="ERP",
        reported_at=at - timedelta(minutes=5),
        actor="agent-zhang",
        at=at,
        **kwargs,
    )


def classify(t: Ticket, priority: str, at: datetime) -> None:
    c = CLASSIFY[priority]
    t.classify(
        type=TicketType.FAULT,
        category="software",
        urgency=Urgency(c["urgency"]),
        impact=Impact(c["impact"]),
        importance=Importance(c["importance"]),
        actor="agent-zhang",
        at=at,
    )


@dataclass(frozen=True)
class Spec:
    """What the ticket list row of one ticket must show in the end."""

    n: int
    customer: str
    status: str  # a Status value, or "reopened" (ends in_progress after close + reopen)
    priority: str | None = None
    assignee: str | None = None
    group: str | None = None

    @property
    def final_status(self) -> str:
        return Status.IN_PROGRESS.value if self.status == "reopened" else self.status


def ticket_in_state(spec: Spec, at: datetime = BASE) -> Ticket:
    """A ticket driven through valid commands to ``spec`` (events not yet collected)."""
    step = iter(range(1, 100))

    def t_() -> datetime:
        return at + timedelta(minutes=next(step))

    t = register(spec.n, customer=spec.customer, at=at)
    s = spec.status
    if s == "registered":
        return t
    if s == "invalid":
        t.invalidate(reason="duplicate of another request", actor="agent", at=t_())
        return t
    assert spec.priority is not None
    classify(t, spec.priority, t_())
    if s == "classified":
        return t
    t.assign(assignee=spec.assignee, group=spec.group, actor="lead", at=t_())
    if s == "assigned":
        return t
    t.start(actor="eng", at=t_())
    t.log_work(action="checked the server logs", hours=0.5, actor="eng", at=t_())
    if s == "in_progress":
        return t
    if s == "waiting_customer":
        t.await_customer(reason="need a screenshot", actor="eng", at=t_())
        return t
    t.resolve(**RESOLUTION, actor="eng", at=t_())
    if s == "resolved":
        return t
    t.confirm(
        number=f"SD-20260302-{spec.n:03d}", signer="客户", items=("ERP",), criteria=("可登录",),
        passed=True, actor="agent", at=t_(),
    )
    if s == "closed":
        return t
    assert s == "reopened"
    t.reopen(reason="the error came back", actor="agent", at=t_())
    return t


SPECS: tuple[Spec, ...] = (
    Spec(0, "A", "registered"),
    Spec(1, "A", "classified", "P1"),
    Spec(2, "B", "assigned", "P2", "zhang", None),
    Spec(3, "B", "in_progress", "P1", "li", "net"),
    Spec(4, "C", "waiting_customer", "P3", "zhang", "desk"),
    Spec(5, "A", "resolved", "P2", None, "net"),
    Spec(6, "C", "closed", "P1", "wang", None),
    Spec(7, "B", "invalid"),
    Spec(8, "A", "assigned", "P3", "li", None),
    Spec(9, "C", "registered"),
    Spec(10, "B", "classified", "P2"),
    Spec(11, "A", "in_progress", "P2", "zhang", "net"),
    Spec(12, "C", "classified", "P1"),
    Spec(13, "A", "assigned", "P1", None, "desk"),
    Spec(14, "B", "resolved", "P3", "wang", "desk"),
    Spec(15, "A", "reopened", "P3", "li", None),
)


@dataclass
class Dataset:
    events: list[Positioned]  # interleaved across tickets, ascending positions with gaps
    tickets: dict[str, Ticket]  # row id -> the aggregate in its final state
    specs: dict[str, Spec]  # row id -> its spec
    seq: dict[str, int]  # row id -> position of its Registered event

    @property
    def head(self) -> int:
        return self.events[-1].position


def view_dataset(specs: tuple[Spec, ...] = SPECS) -> Dataset:
    per_ticket: list[list[Any]] = []
    tickets: dict[str, Ticket] = {}
    for spec in specs:
        t = ticket_in_state(spec, BASE + timedelta(hours=spec.n))
        tickets[str(t.id)] = t
        per_ticket.append(list(t.collect_events()))
    # Round robin, so one batch holds events of many tickets; positions step by 3, as if
    # other aggregates' notifications (numbers, idempotency records) sat between them.
    events: list[Positioned] = []
    seq: dict[str, int] = {}
    position = 0
    while any(per_ticket):
        for queue in per_ticket:
            if queue:
                position += 3
                e = queue.pop(0)
                events.append(Positioned(position, e))
                if isinstance(e, Ticket.Registered):
                    seq[str(e.originator_id)] = position
    specs_by_id = {str(ticket_id(s.n)): s for s in specs}
    return Dataset(events=events, tickets=tickets, specs=specs_by_id, seq=seq)


# ------------------------------------------------------------------- the desk


def drive_desk(
    desk: ServiceDesk, clock: FixedClock, commands: int, *, seed: int = 7, tickets: int = 40
) -> list[UUID]:
    """Run exactly ``commands`` valid commands (about ``tickets`` registrations); the ids."""
    rng = random.Random(seed)
    ids: list[UUID] = []
    latest: dict[UUID, Ticket] = {}  # each open ticket as its last command left it
    done = 0
    while done < commands:
        clock.advance(minutes=1)
        if not latest or (len(ids) < tickets and rng.random() < tickets / commands * 1.5):
            extra: dict[str, Any] = {}
            if rng.random() < 0.4:
                chosen = CLASSIFY[rng.choice(list(CLASSIFY))]
                extra = dict(type="fault", category="network", **chosen)
            elif rng.random() < 0.25:  # a priority given before classification (PriorityGiven)
                extra = dict(priority=rng.choice(("P1", "P2", "P3")),
                             override_reason="客户来电要求加急")
            r = desk.handle(cmd.RegisterTicket(customer=rng.choice("ABCD"), contact=CONTACT,
                                               channel="phone", title=f"desk ticket {done}",
                                               affected_system="ERP", **extra), actor="agent")
            ids.append(r.ticket.id)
            latest[r.ticket.id] = r.ticket
            done += 1
            continue
        ref = rng.choice(list(latest))
        if latest[ref].status in TAKES_INFORMATION and rng.random() < 0.05:
            # the customer adds what they know (ADR 0052), or the staff write a note (ADR
            # 0055): any open state, no status change
            command = (cmd.AddInformation(ref=ref, information="截图已发邮箱") if done % 2 else
                       cmd.Comment(ref=ref, body="已电话联系客户", visibility="internal"))
            latest[ref] = desk.handle(command, actor="li.si").ticket
            done += 1
            continue
        allowed = [
            c for c in latest[ref].allowed_commands() if c != "invalidate" or rng.random() < 0.1
        ]
        if not allowed:
            if not latest[ref].allowed_commands():
                del latest[ref]  # invalid, or closed with feedback given: nothing more to do
            continue
        latest[ref] = _command(desk, ref, rng.choice(allowed), rng.choice(ACTORS), rng).ticket
        done += 1
    return ids


def _confirm(ref: UUID, rng: random.Random) -> cmd.Confirm:
    passed = rng.random() < 0.7
    return cmd.Confirm(ref=ref, signer="客户", items=["ERP"], criteria=["可登录"], passed=passed,
                       unmet_items=[] if passed else ["报表"])


#: The walk's commands by name: each made for a ticket (``ref``) with the walk's ``rng``.
WALK: dict[str, Callable[[UUID, random.Random], Any]] = {
    "invalidate": lambda ref, rng: cmd.Invalidate(ref=ref, reason="not a service request"),
    "classify": lambda ref, rng: cmd.Classify(ref=ref, type="fault", category="software",
                                              **CLASSIFY[rng.choice(list(CLASSIFY))]),
    "assign": lambda ref, rng: cmd.Assign(ref=ref, assignee=rng.choice((*ACTORS, None)),
                                          group=rng.choice(("net", "desk", None)) or "ops"),
    "start": lambda ref, rng: cmd.Start(ref=ref),
    "log_work": lambda ref, rng: cmd.LogWork(ref=ref, action="checked the logs", hours=0.25),
    "await_customer": lambda ref, rng: cmd.AwaitCustomer(ref=ref, reason="need a screenshot"),
    "resume": lambda ref, rng: cmd.Resume(ref=ref),
    "resolve": lambda ref, rng: cmd.Resolve(ref=ref, **RESOLUTION),
    "confirm": _confirm,
    "close": lambda ref, rng: cmd.CloseTicket(ref=ref, signer="客户", reason="客户同意结束支持"),
    "reopen": lambda ref, rng: cmd.Reopen(ref=ref, reason="came back"),
    "feedback": lambda ref, rng: cmd.GiveFeedback(ref=ref, timeliness=5, effectiveness=4,
                                                  attitude=5),
}


def _command(desk: ServiceDesk, ref: UUID, command: str, actor: str, rng: random.Random) -> Any:
    if command not in WALK:
        raise AssertionError(f"the walk does not know the command {command!r}")
    return desk.handle(WALK[command](ref, rng), actor=actor)
