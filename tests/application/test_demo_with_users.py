"""``opsledger demo`` on a store that has users (issue 16 item 8e, ADR 0045), and the users it
makes itself (issue 18, ADR 0053).

An assignee must be a registered user once the store has users -- for the API's commands. The
demo assigns its tickets to its own cast, which it registers as users (a user for each role, a
requester per customer) with passwords it prints; README's order (users first, then the demo)
must still work, and a user of the store that has one of the cast's ids is left alone.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.cli.main import main
from adapters.container import build
from adapters.demo.run import CUSTOMERS, DISPATCHER, GROUPS
from adapters.http.app import create_app
from adapters.settings import Settings
from application.commands.tickets import Assign, RegisterTicket
from application.commands.users import OpenSession, RegisterUser, SetPassword
from application.identities import list_users
from domain.errors import InvalidCommand
from domain.identity import Role
from domain.ticket import Contact
from tests.support.demo import printed_logins


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


# ------------------------------------------------------- the demo's people (issue 18)


def demo_run(url: str, capsys: pytest.CaptureFixture[str], tickets: int = 8) -> str:
    assert main(["demo", "--tickets", str(tickets), "--seed", "7", "--database", url]) == 0
    return capsys.readouterr().out


def login_opens(url: str, user: str, password: str) -> bool:
    services = build(Settings(database_url=url))
    try:
        command = OpenSession(user=user, password=password)
        return command.opened(services.desk.handle(command, actor=user))
    finally:
        services.close()


def users_in(url: str) -> dict[str, Any]:
    services = build(Settings(database_url=url))
    try:
        return {u.user: u for u in list_users(services.desk)}
    finally:
        services.close()


def test_the_demo_makes_a_user_for_each_role_and_prints_their_passwords(tmp_path: Path,
                                                                      capsys):
    url = f"sqlite:///{tmp_path / 'people.sqlite3'}"
    out = demo_run(url, capsys)
    logins = printed_logins(out)
    users = users_in(url)
    assert set(logins) == set(users)  # each printed with a password, none left out
    by_role: dict[str, list[Any]] = {}
    for u in users.values():
        for role in u.roles:
            by_role.setdefault(role, []).append(u)
    assert set(by_role) == {r.value for r in Role}  # every role, requester included
    assert {u.customer for u in by_role["requester"]} == {c.name for c in CUSTOMERS}
    for group, members in GROUPS.items():  # the engineers the tickets are assigned to
        for member in members:
            assert users[member].roles == ("engineer",) and group in users[member].groups
    assert DISPATCHER in {u.user for u in by_role["dispatcher"]}
    for user, password in logins.items():
        assert login_opens(url, user, password), user
    assert "console: http://127.0.0.1:8000/" in out
    stored = all_stored(url)
    assert not any(p.encode() in stored for p in logins.values())  # only hashes


def all_stored(url: str) -> bytes:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return b"".join(bytes(s) for (s,) in conn.execute("SELECT state FROM stored_events"))


def test_the_printed_logins_and_token_work_in_the_console_and_the_api(tmp_path: Path, capsys):
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    out = demo_run(url, capsys)
    logins = printed_logins(out)
    token = re.search(r"export TOKEN=(\S+)", out)
    assert token, out
    assert 'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/queues/' in out
    services = build(Settings(database_url=url))
    try:
        with TestClient(create_app(services, run_projections=False)) as client:
            assert client.get("/api/v1/queues/unassigned").status_code == 401  # closed now
            assert client.get("/api/v1/queues/unassigned", headers={
                "Authorization": f"Bearer {token[1]}"}).status_code == 200
            for user, home in ((DISPATCHER, "/ui/"), ("req-a", "/portal/")):
                client.cookies.clear()
                form = client.get("/ui/login").text
                csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form)
                assert csrf
                r = client.post("/ui/login", data={"user": user, "password": logins[user],
                                                   "_csrf_token": csrf[1]},
                                follow_redirects=False)
                assert (r.status_code, r.headers.get("location")) == (303, home), user
    finally:
        services.close()


def test_a_second_run_keeps_the_users_and_gives_new_passwords(tmp_path: Path, capsys):
    url = f"sqlite:///{tmp_path / 'again.sqlite3'}"
    first = printed_logins(demo_run(url, capsys))
    before = users_in(url)
    second = printed_logins(demo_run(url, capsys))
    assert set(second) == set(first)
    users = users_in(url)
    assert set(users) == set(before)  # no one registered twice
    for u, user in users.items():  # the same records, a new password each
        assert user.created_on == before[u].created_on and user.version > before[u].version
    assert not login_opens(url, "mgr-yang", first["mgr-yang"])
    assert login_opens(url, "mgr-yang", second["mgr-yang"])


def test_a_user_of_the_store_with_a_cast_id_is_left_alone(tmp_path: Path, capsys):
    url = f"sqlite:///{tmp_path / 'theirs.sqlite3'}"
    services = build(Settings(database_url=url))
    try:
        services.desk.handle(RegisterUser(id="eng-li", name="李审计", roles=["auditor"]),
                             actor="admin")
        services.desk.handle(SetPassword(user="eng-li", password="their own secret"),
                             actor="admin")
    finally:
        services.close()
    out = demo_run(url, capsys)
    assert "eng-li" not in printed_logins(out)
    assert re.search(r"eng-li .*\(already a user with role\(s\) auditor: left alone\)", out)
    assert users_in(url)["eng-li"].roles == ("auditor",)
    assert login_opens(url, "eng-li", "their own secret")
