"""Logging in, CSRF, who may open which page, and the language switch, in a real Chromium
against a real ``opsledger serve`` (SQLite and PostgreSQL; ADR 0051)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from adapters.http.console.i18n import EN, ZH, catalogue
from tests.browser.harness import (BROWSER, ORG_A, ORG_B, PASSWORD, PEOPLE, Console, Shots, login,
                                   path_of, reload_until)

pytestmark = BROWSER


def test_a_dispatcher_logs_in_through_the_form_and_lands_on_the_desk(
        open_as: Callable[..., Page], shots: Shots) -> None:
    page = open_as(None)
    page.goto("/ui/")
    assert path_of(page) == "/ui/login"  # no session: the form, coming back after
    assert page.locator("input[name=user]").is_visible()
    assert page.locator("input[name=password][type=password]").is_visible()
    assert page.locator("form[action='/ui/login'] input[type=hidden][name*=csrf]").count() == 1
    shots.take(page, "login")

    page.fill("input[name=user]", "zhang.dispatch")
    page.fill("input[name=password]", "not the password")
    page.click("form[action='/ui/login'] button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == catalogue(ZH)["login.failed"]
    assert path_of(page) == "/ui/login"

    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/ui/login'] button[type=submit]")
    assert path_of(page).rstrip("/") == "/ui"  # back where it was sent from (?next=)
    assert PEOPLE["zhang.dispatch"].name in page.locator("header .who").inner_text()
    session = [c for c in page.context.cookies() if c["name"] == "opsledger_session"]
    assert len(session) == 1 and session[0]["httpOnly"]
    # straight to the form (no ?next=): the desk's home
    page.context.clear_cookies()
    login(page, "zhang.dispatch")
    assert path_of(page) == "/ui/"


def test_a_requester_lands_on_the_portal_and_cannot_open_the_desk(
        open_as: Callable[..., Page]) -> None:
    page = open_as("chen.requester")
    assert path_of(page) == "/portal/"
    for staff_page in ("/ui/", "/ui/tickets/new", "/ui/dashboard", "/ui/search?q=ERP"):
        answer = page.goto(staff_page)
        assert answer is not None
        # the desk is for staff: sent on to the portal (or refused), never shown
        assert path_of(page) == "/portal/" or answer.status == 403, (staff_page, page.url)
        assert page.locator("header nav a[href='/ui/dashboard']").count() == 0


def test_a_form_post_without_the_csrf_token_is_refused(open_as: Callable[..., Page]) -> None:
    page = open_as("zhang.dispatch")
    assert path_of(page) == "/ui/"
    logout = page.locator("header form[action='/ui/logout']")
    assert logout.locator("input[name*=csrf]").count() == 1
    logout.locator("input[name*=csrf]").evaluate("input => input.remove()")
    with page.expect_navigation() as answer:
        logout.locator("button").click()
    assert answer.value is not None and answer.value.status == 403
    # the same POST from the browser's own request context, cookies and all, but no token
    refused = page.request.post("/ui/logout", form={"next": "/ui/"}, max_redirects=0)
    assert refused.status == 403
    # still logged in: neither POST logged out
    page.goto("/ui/")
    assert path_of(page) == "/ui/"
    # the intact form does log out
    with page.expect_navigation():
        page.locator("header form[action='/ui/logout'] button").click()
    assert path_of(page) == "/ui/login"
    page.goto("/ui/")
    assert path_of(page) == "/ui/login"


def test_a_requester_cannot_open_another_organisations_ticket(
        console: Console, open_as: Callable[..., Page]) -> None:
    theirs = console.register_ticket(customer=ORG_B, title="仓储系统打印机离线")
    ours = console.register_ticket(customer=ORG_A, title="报表导出超时")
    page = open_as("chen.requester")
    # their list shows their organisation's ticket, never the other's
    row = reload_until(page, f"[data-ticket='{ours['number']}']")
    assert ours["title"] in row.inner_text()
    assert page.locator(f"[data-ticket='{theirs['number']}']").count() == 0
    answer = page.goto(f"/portal/tickets/{theirs['number']}")
    assert answer is not None and answer.status == 404
    assert theirs["title"] not in page.content()
    answer = page.goto(f"/ui/tickets/{theirs['number']}")
    assert answer is not None
    assert theirs["title"] not in page.content()
    assert path_of(page) == "/portal/" or answer.status in (403, 404)
    # their own organisation's ticket opens (so the 404 above is the scoping, not a missing page)
    answer = page.goto(f"/portal/tickets/{ours['number']}")
    assert answer is not None and answer.status == 200
    assert ours["title"] in page.content()
    # and the other organisation's requester opens theirs
    other = open_as("zhou.requester")
    answer = other.goto(f"/portal/tickets/{theirs['number']}")
    assert answer is not None and answer.status == 200
    assert theirs["title"] in other.content()



def test_the_language_switch_shows_english_labels(open_as: Callable[..., Page]) -> None:
    zh, en = catalogue(ZH), catalogue(EN)
    assert zh["nav.desk"] != en["nav.desk"]
    page = open_as("wang.manager")
    nav = page.locator("header nav")
    assert zh["nav.desk"] in nav.inner_text()
    with page.expect_navigation():
        page.select_option("header select[name=lang]", "en")
    text = page.locator("header nav").inner_text()
    assert en["nav.desk"] in text and en["nav.dashboard"] in text
    assert zh["nav.desk"] not in text
    page.goto("/ui/login?out=1")
    assert page.locator("h1").inner_text() == en["login.title"]
    # an English browser reads English from the start; the switch takes it back to Chinese
    english = open_as(None, lang="en")
    english.goto("/ui/login")
    assert english.locator("h1").inner_text() == en["login.title"]
    with english.expect_navigation():
        english.select_option("header select[name=lang]", "zh-CN")
    assert english.locator("h1").inner_text() == zh["login.title"]
