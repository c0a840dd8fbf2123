"""Logging in to the console (issue 18, ADR 0049): passwords, sessions as tokens in a cookie,
CSRF on forms, lock-out, logout, and where the session cookie counts."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.fixtures_http import ALL_STORES, Api, ticket_body
from tests.support.console import ADMIN, PASSWORD, csrf, login, staffed


@pytest.fixture
def desk(make_api: Callable[..., Api]) -> Api:
    return staffed(make_api, {"wang": ("dispatcher", "王调度"),
                              "li": ("requester", "李四", "客户A")})


@pytest.mark.parametrize("http_store", ALL_STORES, indirect=True)
def test_the_login_form_logs_staff_into_the_desk_and_requesters_into_the_portal(desk: Api):
    c = desk.client
    form = c.get("/ui/login")
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    for name in ('name="user"', 'name="password"', 'name="_csrf_token"'):
        assert name in form.text
    r = login(c, "wang")
    assert r.headers["location"] == "/ui/"
    assert "opsledger_session=" in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower()
    assert c.get("/ui/").status_code == 200
    r = login(c, "li")
    assert r.headers["location"] == "/portal/"
    assert c.get("/portal/").status_code == 200
    staff_page = c.get("/ui/", follow_redirects=False)
    assert staff_page.status_code in (303, 403)
    if staff_page.status_code == 303:
        assert staff_page.headers["location"] == "/portal/"


def test_a_page_without_a_session_sends_the_browser_to_the_login_form(desk: Api):
    r = desk.client.get("/ui/?queue=mine", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/ui/login?next=/ui")
    assert desk.client.get("/", follow_redirects=False).headers["location"] == "/ui/login"
    # the API still answers 401 problem+json, not a redirect
    assert desk.client.get("/api/v1/tickets").status_code == 401


def test_after_login_the_browser_returns_to_the_page_it_asked_for_and_never_elsewhere(desk: Api):
    c = desk.client
    token = csrf(c)
    for target, expected in (("/ui/search?q=x", "/ui/search?q=x"),
                             ("https://evil.example/", "/ui/"), ("//evil.example/", "/ui/"),
                             ("/api/v1/tickets", "/ui/")):
        r = c.post("/ui/login", data={"user": "wang", "password": PASSWORD, "next": target,
                                      "_csrf_token": token}, follow_redirects=False)
        assert r.headers["location"] == expected, target


def test_a_wrong_password_and_an_unknown_user_read_alike_and_five_failures_lock(desk: Api):
    c = desk.client
    token = csrf(c)

    def attempt(user: str, password: str) -> Any:
        return c.post("/ui/login", data={"user": user, "password": password,
                                         "_csrf_token": token}, follow_redirects=False)

    wrong, unknown = attempt("wang", "not the one"), attempt("nobody", "not the one")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    for _ in range(4):
        attempt("wang", "still not")
    locked = attempt("wang", PASSWORD)  # the right one, but locked now
    assert locked.status_code == 423 and "锁定" in locked.text
    history = c.get("/api/v1/users/wang/history", headers=ADMIN).json()
    assert [e["type"] for e in history].count("LoginFailed") == 5
    desk.clock.advance(minutes=16)
    assert attempt("wang", PASSWORD).status_code == 303


def test_the_password_hash_is_never_shown(desk: Api):
    history = desk.client.get("/api/v1/users/wang/history", headers=ADMIN).json()
    data = [e["data"] for e in history if e["type"] == "PasswordSet"]
    assert data == [{"actor": "admin", "password_hash": "[hidden]"}]
    assert "argon2" not in desk.client.get("/api/v1/users/wang", headers=ADMIN).text


def test_a_form_without_its_csrf_token_is_refused(desk: Api):
    c = desk.client
    c.get("/ui/login")  # the CSRF cookie
    r = c.post("/ui/login", data={"user": "wang", "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 403
    assert "opsledger_session" not in r.headers.get("set-cookie", "")
    login(c, "wang")
    assert c.post("/ui/logout", follow_redirects=False).status_code == 403


def test_logout_revokes_the_session_token(desk: Api):
    c = desk.client
    login(c, "wang")
    cookie = c.cookies.get("opsledger_session")
    r = c.post("/ui/logout", data={"_csrf_token": csrf(c, "/ui/")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    tokens = c.get("/api/v1/users/wang/tokens", headers=ADMIN).json()["items"]
    assert [t["revoked_at"] is not None for t in tokens] == [True]
    # the old cookie (kept by someone) no longer opens anything
    c.cookies.set("opsledger_session", cookie)
    r = c.get("/ui/", follow_redirects=False)
    assert r.status_code == 303 and "expired=1" in r.headers["location"]


def test_the_session_reads_the_api_but_never_commands_it(desk: Api):
    c = desk.client
    login(c, "wang")
    assert c.get("/api/v1/tickets").status_code == 200  # a report or list opens in the browser
    r = c.post("/api/v1/tickets", json=ticket_body())
    assert r.status_code == 401  # no Authorization: another site cannot command with it


def test_set_password_is_for_admins_and_the_user_themself(desk: Api):
    c = desk.client
    wang = c.post("/api/v1/users/wang/tokens", json={}, headers=ADMIN).json()["token"]
    mine = {"Authorization": f"Bearer {wang}"}
    assert c.post("/api/v1/users/wang/password", json={"password": "another good one"},
                  headers=mine).status_code == 204
    r = c.post("/api/v1/users/li/password", json={"password": "another good one"}, headers=mine)
    assert r.status_code in (403, 404)
    r = c.post("/api/v1/users/wang/password", json={"password": "short"}, headers=mine)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    login(c, "wang", "another good one")


def test_english_by_accept_language_or_the_switch(desk: Api):
    c = desk.client
    assert "登录" in c.get("/ui/login").text
    assert "Log in" in c.get("/ui/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    c.cookies.set("lang", "en")
    assert "Log in" in c.get("/ui/login", headers={"Accept-Language": "zh-CN"}).text


def test_an_open_development_store_lets_everyone_in_as_admin(make_api: Callable[..., Api]):
    c = make_api().client
    r = c.get("/ui/")
    assert r.status_code == 200 and "开发模式" in r.text
    assert c.get("/", follow_redirects=False).headers["location"] == "/ui/"
    assert "开发模式" in c.get("/ui/login").text  # nobody can log in yet: it says so
