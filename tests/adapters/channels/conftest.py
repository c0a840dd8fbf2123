"""Real receivers for the notice outbox's tests (ADR 0059): an SMTP sink (``aiosmtpd`` in the
test process, on 127.0.0.1) and an HTTP server that plays the group robots and the webhook."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """Every message the relay accepted, parsed; ``start``/``stop`` on a fixed port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.raw.append(bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def relay(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def mails(self) -> list[EmailMessage]:
        return [email.message_from_bytes(r, policy=policy.default) for r in self.raw]  # type: ignore[misc]

    def start(self) -> SmtpSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class Robots:
    """An HTTP server answering like the robots (``{"errcode":0}``) and keeping each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.errcode = 0
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                url = urlsplit(self.path)
                state.calls.append({"path": url.path, "query": parse_qs(url.query),
                                    "json": json.loads(body),
                                    "content_type": self.headers["Content-Type"]})
                answer = json.dumps({"errcode": state.errcode, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def robots() -> Iterator[Robots]:
    r = Robots()
    yield r
    r.close()
