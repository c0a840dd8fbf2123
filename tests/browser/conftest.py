"""Fixtures of the browser tests (ADR 0051): a real ``opsledger serve`` per store and a real
headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright.

Fixtures:
    console_store  (session, parametrised)  "sqlite" | "postgres" (PostgreSQL marked ``postgres``)
    console        (session)  a ``harness.Console``: ``opsledger serve`` on a free 127.0.0.1 port
                              on that store, ``OPSLEDGER_ADMIN_TOKEN`` set, the people of
                              ``harness.PEOPLE`` created; stopped by its PID at the end. Under
                              pytest-xdist each worker starts its own.
    browser        (session)  the Chromium (one per worker, reused by every test)
    open_as        (function) ``open_as(who)`` -> a ``Page`` in a fresh browser context (its own
                              cookies), logged in as ``who`` (``None``: not logged in), Chinese
                              by default (``lang="en"`` for English); closed after the test,
                              after a screenshot of each page into ``test-artifacts/failures/``
                              if the test failed (its report also carries the server's log)
    shots          (session)  ``harness.Shots`` of the store: ``shots.take(page, "desk")``

Every test module here says ``pytestmark = harness.BROWSER`` (the markers ``browser`` and
``slow``). A missing Chromium fails the tests with a message saying how to install it; it never
skips them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.harness import (ARTIFACTS, CHROMIUM_MISSING, FAILURES, VIEWPORT, Console, Shots,
                                   chromium_present, launch, login)
from tests.support.postgres import create_database, drop_database, unique_database_name

CONSOLE_STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    """Where this run's screenshots went (plain pytest; scripts/test says it under xdist)."""
    if config.pluginmanager.hasplugin("dsession"):
        return  # the xdist controller: its workers took them
    if ARTIFACTS.is_dir() and any(p.stat().st_mtime >= _STARTED for p in ARTIFACTS.rglob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {ARTIFACTS}")
    if FAILURES.is_dir() and any(p.stat().st_mtime >= _STARTED for p in FAILURES.rglob("*.png")):
        terminalreporter.write_line(f"browser failures (pages as they were): {FAILURES}")


_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failed browser test's report carries the server's log; ``open_as`` sees the failure
    and keeps a screenshot of every page the test had open."""
    report: pytest.TestReport = yield
    if call.when == "call":
        item.stash[_REPORT] = report
        console = getattr(item, "funcargs", {}).get("console")
        if report.failed and isinstance(console, Console):
            report.sections.append(("opsledger serve log (tail)", console.log_tail()))
    return report


@pytest.fixture(scope="session", params=CONSOLE_STORES)
def console_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def console(console_store: str, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp(f"console-{console_store}")
    dropped: Callable[[], None] = lambda: None  # noqa: E731
    if console_store == "sqlite":
        url = f"sqlite:///{folder / 'console.sqlite3'}"
    else:
        server = str(request.getfixturevalue("postgres_server"))
        name = unique_database_name("browser")
        url = create_database(server, name)
        dropped = lambda: drop_database(server, name)  # noqa: E731
    running = Console(console_store, url, folder / "serve.log")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        dropped()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not chromium_present():
        pytest.fail(CHROMIUM_MISSING, pytrace=False)  # never a skip: see the module's docstring
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(console_store: str) -> Shots:
    return Shots(console_store)


@pytest.fixture
def open_as(browser: Browser, console: Console,
            request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_(who: str | None, *, lang: str = "zh-CN") -> Page:
        context = browser.new_context(base_url=console.url, viewport=VIEWPORT, locale=lang,
                                      timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if who is not None:
            login(page, who)
        return page

    yield open_
    report = request.node.stash.get(_REPORT, None)
    for n, context in enumerate(contexts):
        if report is not None and report.failed:
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(FAILURES / f"{request.node.name}-{n}{m}.png"))
        context.close()
