"""The webhook notifier against a real HTTP server on 127.0.0.1 (ADR 0016): the notice is
POSTed as JSON, a failing answer is retried with backoff, a dead receiver is counted as a
failure after the last attempt, and ``notify`` itself never waits for the receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from adapters.channels.notify import Dispatcher, LogSender, WebhookSender
from application.ports import Notice

NOTICE = Notice(kind="escalation", recipient="mgr-wang", role="manager", ticket_id="t-1",
                number="SR-20261123-001", level=1, reason="response SLA breached",
                priority_from="P3", priority_to="P2",
                occurred_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC), by="system")


class Receiver:
    def __init__(self, fail_first: int) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.calls = 0


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[tuple[Receiver, str]]:
    state = Receiver(getattr(request, "param", 0))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            state.calls += 1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.calls <= state.fail_first:
                self.send_response(503)
            else:
                state.bodies.append(json.loads(body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_a_notice_is_posted_as_json(receiver):
    state, url = receiver
    d = Dispatcher([LogSender(), WebhookSender(url, timeout=2)], sleep=lambda s: None)
    d.notify(NOTICE)
    assert d.drain() == 1
    assert state.bodies == [{**NOTICE.as_json(), "occurred_at": "2026-11-23T10:00:00Z"}]
    assert (d.sent, d.failed, d.retries) == (2, 0, 0)


@pytest.mark.parametrize("receiver", [2], indirect=True)
def test_failing_answers_are_retried_with_backoff(receiver):
    state, url = receiver
    waits: list[float] = []
    d = Dispatcher([WebhookSender(url)], attempts=5, backoff=0.5, sleep=waits.append)
    d.notify(NOTICE)
    d.drain()
    assert (state.calls, len(state.bodies)) == (3, 1)
    assert waits == [0.5, 1.0]
    assert d.status()["sent"] == 1 and d.status()["retries"] == 2 and d.failed == 0


def test_a_dead_receiver_is_counted_and_never_blocks_notify():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = Dispatcher([WebhookSender(f"http://127.0.0.1:{port}/", timeout=0.5)], attempts=3,
                   sleep=lambda s: None)
    d.start()
    d.notify(NOTICE)  # returns at once; the thread delivers
    d.stop()
    assert (d.sent, d.failed, d.retries) == (0, 1, 2)
    assert "webhook" in (d.last_error or "")
