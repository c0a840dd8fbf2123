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
                              by default (``lang="en"`` for English); closed after the test
    shots          (session)  ``harness.Shots`` of the store: ``shots.take(page, "desk")``

Every test module here says ``pytestmark = harness.BROWSER`` (the markers ``browser`` and
``slow``). A missing Chromium fails the tests with a message saying how to install it; it never
skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.harness import ARTIFACTS, VIEWPORT, Console, Shots, launch, login
from tests.support.postgres import create_database, drop_database, unique_database_name

CONSOLE_STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where the screenshots went (plain pytest; scripts/test says it under xdist)."""
    if ARTIFACTS.is_dir() and any(ARTIFACTS.rglob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {ARTIFACTS}")


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
    with sync_playwright() as playwright:
        try:
            chromium = launch(playwright)
        except RuntimeError as e:
            pytest.fail(str(e), pytrace=False)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(console_store: str) -> Shots:
    return Shots(console_store)


@pytest.fixture
def open_as(browser: Browser, console: Console) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_(who: str | None, *, lang: str = "zh-CN") -> Page:
        context = browser.new_context(base_url=console.url, viewport=VIEWPORT,  # type: ignore[arg-type]
                                      locale=lang, timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if who is not None:
            login(page, who)
        return page

    yield open_
    for context in contexts:
        context.close()
