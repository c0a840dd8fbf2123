"""Demo problems (``opsledger demo``): repeated incidents of the demo turned into problems.

Tickets of the same kind (one demo template: same fault, same system) are what problem
management looks for (DOMAIN §3: 70 % of incidents repeat). The largest groups become
problems through the real use cases: the first is a known error (root cause and workaround
recorded), the second is resolved, the third stays recorded. Each is recorded from the
group's first ticket and the rest are linked in one step (``link_tickets``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from adapters.demo.steps import stepper
from application.commands import problems as cmd
from application.desk import ServiceDesk
from application.ports import FixedClock

ANALYST = "expert-lin"  # the demo's expert (高级专家) analyses problems
MANAGER = "mgr-yang"
MAX_LINKED = 8  # tickets per demo problem


def add_demo_problems(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any]) -> list[str]:
    """Turns the largest groups of same-template demo tickets into up to three problems;
    returns their numbers. ``plans`` are the demo's plans (``number``, ``template``, ``t``)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for plan in plans:
        if plan.number:
            groups[plan.template.key].append(plan)
    chosen = sorted(groups.values(), key=lambda g: (-len(g), g[0].idx))[:3]
    numbers = []
    run = stepper(desk, clock, ANALYST)
    for n, group in enumerate(chosen):
        first, template = group[0], group[0].template
        resolution, root_cause = template.fixes[0]
        p = run(cmd.RecordProblem(title=f"反复故障：{first.t(template.title)}",
                                  description=first.t(template.description),
                                  tickets=[first.number], category=template.category,
                                  affected_system=template.system))
        numbers.append(p.number)
        if len(group) > 1:
            run(cmd.LinkTickets(ref=p.number, ticket_ids=[g.number for g in group[1:MAX_LINKED]]))
        run(cmd.ClassifyProblem(ref=p.number, priority="P2" if n else "P1"))
        if n == 2:
            continue  # stays recorded: still under analysis
        run(cmd.RecordRootCause(ref=p.number, root_cause=first.t(root_cause)))
        workaround = template.workaround or "按已知错误处理：先按知识库步骤临时恢复，再安排根本修复"
        run(cmd.RecordWorkaround(ref=p.number, workaround=first.t(workaround)))
        run(cmd.MarkKnownError(ref=p.number))
        if n == 1:
            run(cmd.ResolveProblem(ref=p.number, resolution=first.t(resolution)), MANAGER)
    return numbers
