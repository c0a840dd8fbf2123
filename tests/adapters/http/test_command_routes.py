"""The command routes build their command from the body (issue 17, ADR 0046): every body
field is a field of the command it runs, so ``Cmd(ref=ref, **fields of the body)`` holds, and
each route names that command (``kit.COMMAND_CLASS_OPT``) whose docstring names the body."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import msgspec
import pytest

from adapters.http import kit
from adapters.http.app import ROUTES
from application.commands.base import Command
from application.commands.changes import PlanChange
from application.commands.agreements import ConcludeAgreement
from application.commands.cis import RegisterCi, RelateCi
from application.commands.complaints import FileComplaint

#: Bodies carried in one nested field of the command (converted explicitly by the route).
NESTED = {PlanChange: "plan", RegisterCi: "item"}
#: Body fields whose command field has another name (``target`` is every command's method),
#: or that are another spelling of a command field (the route converts them).
RENAMED = {RelateCi: {"target": "target_ci"}, FileComplaint: {"complainant": "contact"},
           ConcludeAgreement: {"parties": "customer"}}  # parties → customer / groups / vendor


def command_routes() -> list[tuple[str, type[Command], type]]:
    found = []
    for module in ROUTES:
        for handler in module.HANDLERS:
            command = handler.opt.get(kit.COMMAND_CLASS_OPT)
            if command is None:
                continue
            body = handler.opt.get(kit.COMMAND_OPT) or body_of(handler)
            found.append((f"{sorted(handler.http_methods)[0]} {handler.paths}", command, body))
    return found


def body_of(handler: Any) -> type:
    fn = handler.fn
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    data = typing.get_type_hints(fn)["data"]
    args = [a for a in typing.get_args(data) if a is not type(None)]
    return args[0] if args else data


def field_names(body: type) -> set[str]:
    return {f.name for f in msgspec.structs.fields(body)}


def test_every_command_route_is_found():
    routes = command_routes()
    commands = {c.__name__ for _, c, _ in routes}
    assert {"RegisterTicket", "Assign", "GiveFeedback", "RecordProblem", "LinkProblem",
            "RequestChange", "PlanChange", "ContractProject", "ScheduleRoutine", "WriteArticle",
            "RegisterCustomer", "AssignSlaPolicy", "RegisterUser", "IssueToken"} <= commands
    assert len(routes) >= 55


@pytest.mark.parametrize("route,command,body", command_routes(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_the_body_fields_are_the_commands_fields(route: str, command: type[Command],
                                                 body: type) -> None:
    assert f"``{body.__name__}``" in " ".join((command.__doc__ or "").split()), (
        f"{command.__name__}'s docstring does not name its body {body.__name__}")
    fields = {f.name for f in dataclasses.fields(command)}
    if command in NESTED:
        assert NESTED[command] in fields
        return
    renamed = RENAMED.get(command, {})
    assert {renamed.get(n, n) for n in field_names(body)} <= fields, (
        f"{route}: {command.__name__} lacks body fields")
