"""``opsledger user create|set-password|list`` on a real SQLite store, and the notice ``serve``
prints on a store nobody can log in to yet (ADR 0053).

The commands are the API's (``RegisterUser``, ``SetPassword`` through ``desk.handle``): what
they leave in the store is checked through the store itself and by logging in at the console.
"""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.cli import users as users_cli
from adapters.cli.main import main
from adapters.http.app import create_app
from adapters.serve.first_run import first_run_notice
from adapters.settings import Settings
from application.commands.users import OpenSession
from application.identities import get_user
from tests.support.serve import Process, run_cli
from tests.support.services import built

PASSWORD = "correct horse 马"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'users.sqlite3'}"


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["user", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def user_of(url: str, user: str) -> Any:
    with built(Settings(database_url=url)) as services:
        return get_user(services.desk, user)


def login_works(url: str, user: str, password: str) -> bool:
    """A console login with the password (``OpenSession``, as ``POST /ui/login`` runs it)."""
    with built(Settings(database_url=url)) as services:
        command = OpenSession(user=user, password=password)
        return command.opened(services.desk.handle(command, actor=user))


def stored_bytes(url: str) -> bytes:
    """Every stored event's topic and state, as the file holds them."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT topic, state FROM stored_events").fetchall()
    return b"".join(topic.encode() + bytes(state) for topic, state in rows)


# -------------------------------------------------------------------- create


def test_create_registers_the_user_with_its_roles_and_groups(url: str, capsys):
    code, out, err = run(capsys, "create", "li.engineer", "--name", "李工", "--role", "engineer",
                         "--group", "network", "--group", "database", "--skill", "cisco",
                         "--database", url)
    assert code == 0, err
    assert "li.engineer registered engineer" in out
    assert "set-password li.engineer" in out  # no password yet: says how
    u = user_of(url, "li.engineer")
    assert (u.name, u.roles, u.groups, u.skills) == ("李工", ("engineer",),
                                                     ("network", "database"), ("cisco",))
    assert u.active and u.registered_by.startswith("cli")


def test_create_again_with_the_same_details_changes_nothing(url: str, capsys):
    args = ("create", "he.agent", "--name", "何", "--role", "agent", "--database", url)
    assert run(capsys, *args)[0] == 0
    version = user_of(url, "he.agent").version
    code, out, _ = run(capsys, *args)
    assert code == 0 and "already registered with these details" in out
    assert user_of(url, "he.agent").version == version


def test_create_with_other_details_of_a_known_user_is_refused(url: str, capsys):
    assert run(capsys, "create", "he.agent", "--name", "何", "--role", "agent",
               "--database", url)[0] == 0
    code, _, err = run(capsys, "create", "he.agent", "--name", "何", "--role", "admin",
                       "--database", url)
    assert code == 1 and "already registered with other data" in err
    assert user_of(url, "he.agent").roles == ("agent",)


@pytest.mark.parametrize(("args", "field"), [
    (("--name", "x", "--role", "boss"), "roles"),  # the domain's rule, as the API's 422
    (("--name", "x", "--role", "requester"), "customer"),  # a requester needs a customer
    (("--name", "x", "--role", "agent", "--customer", "客户A"), "customer"),
    (("--name", "x" * 500, "--role", "agent"), "name"),  # the API body's limit
])
def test_create_refuses_what_the_api_refuses(url: str, capsys, args: tuple[str, ...],
                                             field: str):
    code, _, err = run(capsys, "create", "someone", *args, "--database", url)
    assert code == 2
    assert field in err
    with built(Settings(database_url=url)) as services:
        assert not users_of(services)


def users_of(services: Any) -> list[Any]:
    from application.identities import list_users

    return list_users(services.desk)


def test_a_requester_belongs_to_its_customer(url: str, capsys):
    code, out, err = run(capsys, "create", "zhou.min", "--name", "周敏", "--role", "requester",
                         "--customer", "华东电力集团", "--database", url)
    assert code == 0, err
    assert "of 华东电力集团" in out
    assert user_of(url, "zhou.min").customer == "华东电力集团"


# -------------------------------------------------------------- set-password


def registered(url: str, capsys, user: str = "li.engineer", role: str = "engineer") -> None:
    assert run(capsys, "create", user, "--name", "李工", "--role", role,
               "--database", url)[0] == 0


def test_set_password_from_stdin_lets_the_user_log_in(url: str, capsys, monkeypatch):
    registered(url, capsys)
    assert not login_works(url, "li.engineer", PASSWORD)  # no password yet
    code, out, err = run(capsys, "set-password", "li.engineer", "--password-stdin",
                         "--database", url, stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "password set for li.engineer" in out
    assert login_works(url, "li.engineer", PASSWORD)
    assert not login_works(url, "li.engineer", PASSWORD + "x")
    assert PASSWORD not in out + err
    stored = stored_bytes(url)
    assert b"PasswordSet" in stored
    assert PASSWORD.encode() not in stored and b"correct horse" not in stored  # only the hash


def test_a_crlf_line_from_stdin_is_the_password_without_the_line_end(url: str, capsys,
                                                                    monkeypatch):
    registered(url, capsys)
    assert run(capsys, "set-password", "li.engineer", "--password-stdin", "--database", url,
               stdin=PASSWORD + "\r\n", monkeypatch=monkeypatch)[0] == 0
    assert login_works(url, "li.engineer", PASSWORD)


@pytest.mark.parametrize("password", ["short", "       ", "tab\there!"])
def test_set_password_refuses_what_the_application_refuses(url: str, capsys, monkeypatch,
                                                           password: str):
    registered(url, capsys)
    version = user_of(url, "li.engineer").version
    code, _, err = run(capsys, "set-password", "li.engineer", "--password-stdin",
                       "--database", url, stdin=password + "\n", monkeypatch=monkeypatch)
    assert code == 2 and "password" in err
    assert user_of(url, "li.engineer").version == version  # nothing recorded


def test_set_password_of_an_unknown_user(url: str, capsys, monkeypatch):
    code, _, err = run(capsys, "set-password", "nobody", "--password-stdin", "--database", url,
                       stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    assert code == 1 and "no user 'nobody'" in err and "user create nobody" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def prompted(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """A terminal on stdin whose ``getpass`` answers ``answers`` in turn; the prompts seen."""
    prompts: list[str] = []
    given = iter(answers)

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(given)

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(users_cli.getpass, "getpass", fake_getpass)
    return prompts


def test_on_a_terminal_the_password_is_asked_twice(url: str, capsys, monkeypatch):
    registered(url, capsys)
    prompts = prompted(monkeypatch, [PASSWORD, PASSWORD])
    code, _, err = run(capsys, "set-password", "li.engineer", "--database", url)
    assert code == 0, err
    assert len(prompts) == 2 and "li.engineer" in prompts[0]
    assert login_works(url, "li.engineer", PASSWORD)


def test_two_different_answers_change_nothing(url: str, capsys, monkeypatch):
    registered(url, capsys)
    version = user_of(url, "li.engineer").version
    prompted(monkeypatch, [PASSWORD, PASSWORD + "!"])
    code, _, err = run(capsys, "set-password", "li.engineer", "--database", url)
    assert code == 2 and "differ" in err
    assert user_of(url, "li.engineer").version == version


def test_a_short_first_answer_is_refused_before_the_second_question(url: str, capsys,
                                                                   monkeypatch):
    registered(url, capsys)
    prompts = prompted(monkeypatch, ["short"])
    code, _, err = run(capsys, "set-password", "li.engineer", "--database", url)
    assert code == 2 and "8 to 1024 characters" in err
    assert len(prompts) == 1


def test_without_a_terminal_it_wants_password_stdin(url: str, capsys, monkeypatch):
    registered(url, capsys)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))  # not a terminal
    code, _, err = run(capsys, "set-password", "li.engineer", "--database", url)
    assert code == 2 and "--password-stdin" in err
    assert not login_works(url, "li.engineer", PASSWORD)


def test_list_shows_who_has_a_password(url: str, capsys, monkeypatch):
    registered(url, capsys)
    registered(url, capsys, "wang.lead", "dispatcher")
    run(capsys, "set-password", "wang.lead", "--password-stdin", "--database", url,
        stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    code, out, _ = run(capsys, "list", "--database", url)
    assert code == 0
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "set" in rows["wang.lead"] and "dispatcher" in rows["wang.lead"]
    assert "set" not in rows["li.engineer"].split("│")[6]


def test_a_user_made_on_the_command_line_logs_in_to_the_console(url: str, capsys,
                                                                 monkeypatch):
    registered(url, capsys, "wang.lead", "dispatcher")
    run(capsys, "set-password", "wang.lead", "--password-stdin", "--database", url,
        stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    with built(Settings(database_url=url)) as services:
        with TestClient(create_app(services, run_projections=False)) as client:
            form = client.get("/ui/login").text
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form)
            assert csrf, form[:500]
            r = client.post("/ui/login", data={"user": "wang.lead", "password": PASSWORD,
                                               "_csrf_token": csrf[1]}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/ui/"
            assert client.get("/ui/").status_code == 200
            client.cookies.clear()
            assert client.get("/api/v1/tickets").status_code == 401  # no longer an open store


# ---------------------------------------------------------------- first run


def test_the_first_run_notice_is_for_a_store_nobody_can_log_in_to(url: str, capsys):
    with built(Settings(database_url=url)) as services:
        text = first_run_notice(services, "http://127.0.0.1:8000/")
        assert text is not None
        assert "http://127.0.0.1:8000/" in text and "http://127.0.0.1:8000/ui/" in text
        assert "开放的开发库" in text and "open (development)" in text  # Chinese, then English
        assert text.index("开放") < text.index("open (development)")
        assert "opsledger demo" in text
        assert "user create admin --name" in text and "user set-password admin" in text
    registered(url, capsys)
    with built(Settings(database_url=url)) as services:
        assert first_run_notice(services, "http://127.0.0.1:8000/") is None


def test_no_notice_when_an_admin_token_is_set(url: str):
    with built(Settings(database_url=url, admin_token="a" * 32)) as services:
        assert first_run_notice(services, "http://127.0.0.1:8000/") is None


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_prints_the_notice_once_until_a_user_exists(tmp_path: Path, workers: str):
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    log = tmp_path / "serve.log"
    command = ("serve", "--workers", workers)
    with Process(url, log, command=command) as server:
        port = server.port
    text = log.read_text()
    assert text.count("控制台 / console:") == 1, text
    assert f"http://127.0.0.1:{port}/ui/" in text
    done = run_cli(url, "user", "create", "admin", "--name", "管理员", "--role", "admin")
    assert done.returncode == 0, done.stderr
    log.write_text("")
    with Process(url, log, command=command):
        pass
    assert "控制台 / console:" not in log.read_text()
    assert "opsledger serving on" in log.read_text()
