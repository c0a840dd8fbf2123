"""``opsledger demo`` on a store that has users (issue 16 item 8e, ADR 0045).

An assignee must be a registered user once the store has users -- for the API's commands. The
demo assigns its tickets to its own cast of engineers, who are not users of the store; README's
order (users first, then the demo) must still work.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from adapters.cli.main import main
from adapters.container import build
from adapters.settings import Settings
from application.commands.tickets import Assign, RegisterTicket
from application.commands.users import RegisterUser
from domain.errors import InvalidCommand
from domain.ticket import Contact


def test_the_demo_runs_on_a_store_with_users(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    services = build(Settings(database_url=url))
    try:
        services.desk.handle(RegisterUser(id="li.engineer", name="李工", roles=["engineer"]),
                             actor="admin")
        t = services.desk.handle(RegisterTicket(
            customer="客户A", contact=Contact("李四", "13800005678"), channel="phone",
            title="生产系统无法登录", affected_system="ERP", type="fault", category="software",
            urgency="very_urgent", impact="all", importance="very_important"),
            actor="agent-he").aggregate
        with pytest.raises(InvalidCommand):  # the rule holds for an ordinary command
            services.desk.handle(Assign(ref=t.id, assignee="eng-nobody"), actor="lead")
    finally:
        services.close()
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["demo", "--tickets", "8", "--seed", "7", "--database", url])
    assert code == 0, out.getvalue()[-2000:]
