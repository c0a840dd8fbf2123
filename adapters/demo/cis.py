"""The demo's configuration library (ADR 0063): for each of the demo's first customers a small
estate -- a core switch and a storage array, two hosts, virtual machines, the systems the
demo's tickets name (ERP, OA, 邮件 …) and their database, some PCs and a printer -- related
as they run (the ERP ``runs_on`` its VM, which ``runs_on`` a host that ``depends_on`` the
array and is ``connected_to`` the switch), registered and related through the real
commands; three of the customer's fault tickets name its core switch (the CI page's
repeat-fault suggestion), and a verification round (核查) records its verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from adapters.demo.steps import stepper
from application.commands.cis import (CiFields, NameTicketCis, RegisterCi, RelateCi,
                                      VerifyCi)
from application.desk import ServiceDesk
from application.ports import FixedClock

KEEPER = "mgr-yang"  # the demo's manager keeps the library
CUSTOMERS = 2
SYSTEMS = ("ERP", "OA", "邮件系统")
REPEATS = 3


def _estate(customer: str, site: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, class, fields) of one customer's CIs."""
    room = f"{site} 机房"
    estate: list[tuple[str, str, dict[str, Any]]] = [
        ("core", "network", {"name": "核心交换机 CS-01", "model": "S7706", "vendor": "华为",
                             "location": room}),
        ("san", "storage", {"name": "存储 SAN-01", "model": "OceanStor 5310", "vendor": "华为",
                            "location": room, "warranty_end": date(2027, 12, 31)}),
    ]
    for h in (1, 2):
        estate.append((f"host{h}", "server", {
            "name": f"esx-0{h}", "model": "PowerEdge R750", "vendor": "Dell", "location": room,
            "warranty_end": date(2026 + h, 6, 30), "attributes": {"CPU": "2×Xeon 6338",
                                                                   "内存": "512G"}}))
    for i, system in enumerate(SYSTEMS):
        estate.append((f"vm{i}", "virtual_machine", {"name": f"vm-{i + 1:02d}"}))
        estate.append((f"app{i}", "application", {"name": f"{system}"}))
    estate.append(("db", "database", {"name": "Oracle 数据库 ORCL"}))
    for p in range(1, 4):
        estate.append((f"pc{p}", "pc", {"name": f"办公电脑 PC-{p:03d}", "location": site,
                                        "model": "ThinkCentre M90t", "vendor": "联想"}))
    estate.append(("printer", "printer", {"name": "网络打印机 HP-01", "location": site}))
    for n, (_, _, fields) in enumerate(estate, start=1):
        fields.setdefault("asset_tag", f"ZC-{customer[-2:]}-{n:04d}")
    return estate


RELATIONS = [("host1", "depends_on", "san"), ("host2", "depends_on", "san"),
             ("host1", "connected_to", "core"), ("host2", "connected_to", "core"),
             ("vm0", "runs_on", "host1"), ("vm1", "runs_on", "host2"), ("vm2", "runs_on", "host1"),
             ("app0", "runs_on", "vm0"), ("app1", "runs_on", "vm1"), ("app2", "runs_on", "vm2"),
             ("db", "runs_on", "vm0"), ("app0", "depends_on", "db"),
             ("pc1", "connected_to", "core"), ("pc2", "connected_to", "core"),
             ("pc3", "connected_to", "core"), ("printer", "connected_to", "core")]


def add_demo_cis(desk: ServiceDesk, clock: FixedClock, plans: Sequence[Any]) -> list[str]:
    """The demo's CIs; their numbers."""
    seen: dict[str, Any] = {}
    for plan in plans:
        seen.setdefault(plan.customer.name, plan.customer)
    numbers: list[str] = []
    run = stepper(desk, clock, KEEPER)
    for customer in list(seen.values())[:CUSTOMERS]:
        site = customer.sites[0] if customer.sites else customer.name
        made: dict[str, str] = {}
        for key, cls, fields in _estate(customer.name, site):
            ci = run(RegisterCi(item=CiFields(ci_class=cls, customer=customer.name, **fields)))
            made[key] = ci.number
            numbers.append(ci.number)
        for source, kind, target in RELATIONS:
            run(RelateCi(ref=made[source], type=kind, target_ci=made[target]))
        faults = [p.number for p in plans if p.number and p.customer is customer][:REPEATS]
        for number in faults:
            run(NameTicketCis(ref=number, cis=(made["core"],)))
        round_ = f"{clock.now():%Y} 巡检核查"  # one verification round
        for key in ("core", "san", "host1", "host2"):
            run(VerifyCi(ref=made[key], round=round_, verdict="confirmed"))
    return numbers
