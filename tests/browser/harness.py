"""The browser tests' harness (ADR 0051): a real ``opsledger serve``, its people, and Debian's
Chromium driven by Playwright.

- ``Console``: one ``opsledger serve`` child process (``tests/support/serve.Process``) on a
  fresh SQLite file or PostgreSQL database, with ``OPSLEDGER_ADMIN_TOKEN`` set, and the
  people of every role created over the API with that token (``POST /api/v1/users``, then
  ``POST /api/v1/users/{id}/password`` -> 204). ``api(...)`` calls the JSON API as the admin,
  for the givens a test does not click through (another organisation's ticket).
- ``launch(playwright)``: the system Chromium (``/usr/bin/chromium``, Debian's package), never
  a downloaded browser; ``CHROMIUM_MISSING`` says how to get it.
- ``login(page, who)``: through the form at ``/ui/login`` (fields ``user``, ``password``).
- ``Shots``: screenshots of the main pages, saved under ``test-artifacts/screenshots/<store>/``
  and, with ``OPSLEDGER_UPDATE_SCREENSHOTS=1``, the SQLite run's ``DOCS_SET`` copied into
  ``docs/screenshots/`` (the README shows them).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, ViewportSize

from tests.support.console import PASSWORD
from tests.support.serve import ROOT, Process

BROWSER = [pytest.mark.browser, pytest.mark.slow]  # every test module's pytestmark

CHROMIUM = Path(os.environ.get("OPSLEDGER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu",
    # without these Chromium keeps calling home (updates, sync, safe browsing) on a closed network
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM}. The browser tests drive Debian's Chromium (they never "
    "download a browser): run scripts/test, which installs it, or "
    "`apt-get install -y chromium fonts-noto-cjk` (or point OPSLEDGER_TEST_CHROMIUM at one)."
)

ADMIN_TOKEN = "browser-tests-admin-token"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
FAILURES = ROOT / "test-artifacts" / "failures"  # every page open when a test failed
UPDATE_SHOTS = "OPSLEDGER_UPDATE_SCREENSHOTS"
#: The stable set shown in the README: a screenshot of the flow -> its name in docs/screenshots/
#: (the other screenshots there are of the demo's data, made by hand).
DOCS_SET = {
    "ticket-new": "flow-1-new-ticket.png",
    "desk": "flow-2-dispatch.png",
    "ticket": "flow-3-ticket.png",
    "portal-ticket": "flow-4-portal-acceptance.png",
}
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}

# The organisations of the two requesters (a requester sees only their own).
ORG_A = "华东制造"
ORG_B = "西南物流"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    roles: tuple[str, ...]
    customer: str | None = None
    groups: tuple[str, ...] = ()


PEOPLE = {
    p.id: p
    for p in (
        Person("zhang.dispatch", "张调度", ("dispatcher",)),
        Person("li.engineer", "李工程师", ("engineer",), groups=("应用运维",)),
        Person("zhao.engineer", "赵工程师", ("engineer",), groups=("网络运维",)),
        Person("wang.manager", "王经理", ("manager",)),
        Person("chen.requester", "陈客户", ("requester",), customer=ORG_A),
        Person("zhou.requester", "周客户", ("requester",), customer=ORG_B),
    )
}


def chromium_present() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, quiet on the network (ADR 0051)."""
    if not chromium_present():
        raise RuntimeError(CHROMIUM_MISSING)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)


class Console:
    """A running ``opsledger serve`` on ``database_url`` with the people of ``PEOPLE``."""

    def __init__(self, store: str, database_url: str, log_path: Path) -> None:
        self.store = store
        self.process = Process(database_url, log_path, env={"OPSLEDGER_ADMIN_TOKEN": ADMIN_TOKEN})
        self.http = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    @property
    def url(self) -> str:
        return self.process.url

    def start(self) -> Console:
        self.process.start(timeout=90)
        for person in PEOPLE.values():
            body: dict[str, Any] = {"id": person.id, "name": person.name,
                                    "roles": list(person.roles), "groups": list(person.groups)}
            if person.customer:
                body["customer"] = person.customer
            self.api("POST", "/api/v1/users", body, expect=201)
            self.api("POST", f"/api/v1/users/{person.id}/password", {"password": PASSWORD},
                     expect=204)
        return self

    def stop(self) -> None:
        self.http.close()
        self.process.stop()

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, *,
            expect: int = 200) -> Any:
        """The JSON API as the admin; the answer's JSON (``None`` for no content)."""
        r = self.http.request(method, self.url + path, json=body)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def register_ticket(self, *, customer: str, title: str) -> dict[str, Any]:
        """A ticket registered over the API (a given, not the flow under test)."""
        return self.api("POST", "/api/v1/tickets", {  # type: ignore[no-any-return]
            "customer": customer,
            "contact": {"name": "刘联系人", "phone": "13912345678", "email": "liu@example.com"},
            "channel": "phone", "title": title, "description": f"{title}：用户电话报障",
            "affected_system": "ERP",
        }, expect=201)

    def log_tail(self) -> str:
        return self.process.log_tail()


def login(page: Page, who: str, *, password: str = PASSWORD) -> None:
    """Log ``who`` in through the form; the page ends where the login sent it."""
    page.goto("/ui/login")
    page.fill("input[name=user]", who)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action='/ui/login'] button[type=submit]")


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def ticket_header(page: Page) -> Locator:
    """The ticket page's header (``data-ticket``, ``data-status``); what the page says instead
    when it is not a ticket page (an error page, the login form)."""
    header = page.locator("header[data-ticket]")
    if header.count() != 1:
        said = page.locator("main").inner_text() if page.locator("main").count() else page.content()
        raise AssertionError(f"not a ticket page: {page.url}\n{said[:800]}")
    return header


def status_of(page: Page) -> str | None:
    """The status of the ticket page shown (its header's ``data-status``)."""
    return ticket_header(page).get_attribute("data-status")


def commands_of(page: Page) -> set[str]:
    """The commands the ticket page offers (each a ``[data-command]`` form)."""
    return set(page.locator("[data-command]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.command)"))


def run_command(page: Page, verb: str, fields: dict[str, str] | None = None) -> None:
    """Opens the command's form on the ticket page, fills ``fields`` (by name: inputs,
    text areas, selects) and sends it; the page is the ticket again afterwards."""
    box = page.locator(f"[data-command='{verb}']")
    if box.evaluate("node => node.tagName") == "DETAILS" and not box.evaluate("n => n.open"):
        box.locator("summary").click()
    form = box.locator("form")
    for name, value in (fields or {}).items():
        field = form.locator(f"[name='{name}']")
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    error = page.locator(".banner.error, [role=alert]")
    assert error.count() == 0, f"{verb}: {error.first.inner_text()}"


def reload_until(page: Page, selector: str, *, what: str = "") -> Locator:
    """``selector`` on ``page``, reloading until it shows: the queues, the portal's list and
    the dashboard are read models, a moment behind the command (a person would reload)."""
    found = page.locator(selector)

    def shown() -> bool:
        if found.count():
            return True
        page.reload()
        return False

    eventually(shown, what=what or f"{selector} on {page.url}")
    return found


def eventually(check: Callable[[], bool], *, timeout: float = 30.0, every: float = 0.3,
               what: str = "") -> None:
    """Waits for a read model to catch up (the queues and the dashboard are projections)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(every)


class Shots:
    """Screenshots of the main pages for one store's run (see the module's docstring)."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.folder = ARTIFACTS / store
        self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if os.environ.get(UPDATE_SHOTS) == "1" and self.store == "sqlite" and name in DOCS_SET:
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SHOTS / DOCS_SET[name])
        return path
