"""A ticket from the phone call to the customer's feedback, clicked through by the people who
handle it, each in their own browser context, in a real Chromium against a real
``opsledger serve`` (SQLite and PostgreSQL; ADR 0051)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import Page

from adapters.http.console.i18n import ZH, catalogue
from domain.priority import DEFAULT_MATRIX, Impact, Importance, Urgency
from tests.browser.harness import (BROWSER, ORG_A, Console, Shots, commands_of, path_of,
                                   reload_until, run_command, status_of, ticket_header)

pytestmark = BROWSER


def test_a_ticket_from_the_phone_call_to_the_customers_feedback(
        console: Console, open_as: Callable[..., Page], shots: Shots) -> None:
    system = f"ERP-{uuid.uuid4().hex[:6]}"  # this test's own: the server is shared
    title = f"{system} 生产系统无法登录"

    # The dispatcher takes the call and registers it by the form, classified on the spot.
    desk = open_as("zhang.dispatch")
    desk.goto("/ui/tickets/new")
    form = desk.locator("form[data-new-ticket]")
    form.locator("[name=customer]").fill(ORG_A)
    form.locator("[name='contact.name']").fill("刘建国")
    form.locator("[name='contact.phone']").fill("13912345678")
    form.locator("[name=channel]").select_option("phone")
    form.locator("[name=affected_system]").fill(system)
    form.locator("[name=title]").fill(title)
    form.locator("[name=description]").fill("所有用户登录 ERP 报 500，财务月结受阻")
    form.locator("[name=type]").select_option("fault")
    form.locator("[name=category]").fill("software")
    form.locator("[name=urgency]").select_option("very_urgent")
    form.locator("[name=impact]").select_option("all")
    form.locator("[name=importance]").select_option("very_important")
    expected = DEFAULT_MATRIX.priority(Urgency("very_urgent"), Impact("all"),
                                       Importance("very_important")).value
    # the matrix's priority is shown live (htmx) before the form is sent
    badge = form.locator(f"#priority-badge [data-priority='{expected}']")
    badge.wait_for()
    shots.take(desk, "ticket-new")
    with desk.expect_navigation():
        form.locator("button[type=submit].primary").click()
    number = ticket_header(desk).get_attribute("data-ticket")
    assert number and path_of(desk) == f"/ui/tickets/{number}"
    assert status_of(desk) == "classified"
    assert desk.locator("header [data-field=priority]").inner_text() == expected
    assert desk.locator("[data-field=customer]").inner_text() == ORG_A
    assert desk.locator("[data-field='contact.phone']").inner_text() == "13912345678"

    # ... and dispatches it from the unassigned queue to the engineer.
    desk.goto("/ui/?queue=unassigned")
    row = reload_until(desk, f"#queue tr[data-ticket='{number}']")
    assert title in row.inner_text()
    row.locator("input[name=ticket]").check()
    bulk = desk.locator("form#bulk fieldset[data-bulk=assign]")
    bulk.locator("[name=assignee]").fill("li.engineer")
    shots.take(desk, "desk")
    bulk.locator("button").click()
    result = desk.locator(f"#bulk-result tr[data-ticket='{number}']")
    result.wait_for()
    assert result.get_attribute("data-result") == "ok"

    # The engineer starts it, logs the work and resolves it.
    engineer = open_as("li.engineer")
    engineer.goto(f"/ui/tickets/{number}")
    assert status_of(engineer) == "assigned"
    assert engineer.locator("[data-field=assignee]").inner_text().strip() == "li.engineer"
    run_command(engineer, "start")
    assert status_of(engineer) == "in_progress"
    run_command(engineer, "log_work", {"action": "重启 ERP 应用服务器，清理会话表", "hours": "1.5"})
    assert engineer.locator("[data-timeline] li[data-event=WorkLogged]").count() == 1
    shots.take(engineer, "ticket")

    # The manager sees the engineer's load on the dashboard, and this ticket behind it.
    manager = open_as("wang.manager")
    manager.goto("/ui/dashboard")
    load = reload_until(manager, "[data-table=load] tr[data-assignee='li.engineer']")
    assert int(load.locator("[data-open]").inner_text()) >= 1
    shots.take(manager, "dashboard")
    with manager.expect_navigation():
        load.locator("a").first.click()
    mine = manager.locator(f"#queue tr[data-ticket='{number}']")
    assert mine.count() == 1 and title in mine.inner_text()

    run_command(engineer, "resolve", {
        "resolution": "重启 ERP 应用服务器并清理会话表，用户已可正常登录",
        "root_cause": "会话表写满导致登录失败",
    })
    assert status_of(engineer) == "resolved"
    assert "清理会话表" in engineer.locator("[data-field=resolution]").inner_text()

    # The customer's requester accepts it in the portal and gives feedback.
    customer = open_as("chen.requester")
    customer.goto("/portal/")
    reload_until(customer, f"[data-ticket='{number}']")
    shots.take(customer, "portal")
    customer.goto(f"/portal/tickets/{number}")
    assert status_of(customer) == "resolved"
    assert customer.locator("[data-your-turn]").count() == 1
    # the contact's phone is masked for the customer's requester (ADR 0036), in clear above
    assert "13912345678" not in customer.content()
    assert "139****5678" in customer.locator("[data-field=contact]").inner_text()
    shots.take(customer, "portal-ticket")
    accept = customer.locator("form[data-form=confirm]")
    accept.locator("[name=signer]").fill("刘建国")
    accept.locator("[name=items]").fill("ERP 登录恢复\n会话表清理")
    accept.locator("[name=criteria]").fill("全员可正常登录 ERP")
    with customer.expect_navigation():
        accept.locator("[data-command=accept]").click()
    assert status_of(customer) == "closed"
    assert customer.locator("[data-field=acceptance]").count() == 1
    feedback = customer.locator("form[data-form=feedback]")
    for score, value in (("timeliness", "5"), ("effectiveness", "5"), ("attitude", "4")):
        feedback.locator(f"input[name={score}][value='{value}']").check()
    feedback.locator("[name=comment]").fill("响应及时，处理专业")
    with customer.expect_navigation():
        feedback.locator("button[type=submit]").click()
    given = customer.locator("[data-field=feedback]").inner_text()
    zh = catalogue(ZH)
    for score, value in (("timeliness", "5"), ("effectiveness", "5"), ("attitude", "4")):
        assert f"{zh['portal.score_' + score]} {value}" in given, given
    assert customer.locator("form[data-form=feedback]").count() == 0  # given once

    # The closed ticket's history, as the manager reads it.
    manager.goto(f"/ui/tickets/{number}")
    assert status_of(manager) == "closed"
    events = manager.locator("[data-timeline] li").evaluate_all(
        "items => items.map(li => li.dataset.event)")
    for event in ("Registered", "Assigned", "Started", "WorkLogged", "Resolved",
                  "AcceptanceConfirmed", "FeedbackGiven"):
        assert event in events, (event, events)
    assert zh["status.closed"] in manager.locator("header [data-field=status]").inner_text()


def test_an_engineer_sees_only_the_commands_the_state_and_the_assignment_allow(
        console: Console, open_as: Callable[..., Page]) -> None:
    ticket = console.register_ticket(customer=ORG_A, title="邮件网关投递延迟")
    number = ticket["number"]
    console.api("POST", f"/api/v1/tickets/{number}/classify", {
        "type": "fault", "category": "mail", "urgency": "urgent", "impact": "some",
        "importance": "important"})
    console.api("POST", f"/api/v1/tickets/{number}/assign", {"assignee": "li.engineer"})

    page = open_as("li.engineer")
    page.goto(f"/ui/tickets/{number}")
    assert status_of(page) == "assigned"
    # assigned: start, log work or resolve; not wait, resume, nor the dispatcher's commands
    # (linking a problem and naming its CIs are any engineer's, in any state)
    assert commands_of(page) == {"start", "log_work", "resolve", "link_problem", "name_cis"}
    run_command(page, "start")
    assert status_of(page) == "in_progress"
    assert commands_of(page) == {"log_work", "await_customer", "resolve", "link_problem",
                                 "name_cis"}
    run_command(page, "await_customer", {"reason": "等待客户提供报错截图"})
    assert status_of(page) == "waiting_customer"
    assert commands_of(page) == {"resume", "link_problem", "name_cis"}
    # the form of a command the state no longer allows, posted anyway, is refused (409)...
    token = page.locator("header form[action='/ui/logout'] input[name*=csrf]").get_attribute(
        "value")
    answer = page.request.post(f"/ui/tickets/{number}/start", form={"_csrf_token": token or ""},
                               max_redirects=0)
    assert answer.status == 409
    page.reload()
    assert status_of(page) == "waiting_customer"
    # ... while the same post of the command it allows goes through
    answer = page.request.post(f"/ui/tickets/{number}/resume", form={"_csrf_token": token or ""},
                               max_redirects=0)
    assert answer.status == 303
    page.reload()
    assert status_of(page) == "in_progress"

    # another engineer (another group) may read it and link a problem, but not work it
    other = open_as("zhao.engineer")
    other.goto(f"/ui/tickets/{number}")
    assert status_of(other) == "in_progress"
    assert commands_of(other) == {"link_problem", "name_cis"}
