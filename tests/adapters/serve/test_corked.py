"""One write per HTTP response (``adapters/serve/corked.py``, ADR 0041)."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from adapters.serve.corked import CorkedHttpToolsProtocol, _Corked


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def raw() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def corked(raw: FakeTransport, loop: asyncio.AbstractEventLoop) -> _Corked:
    return _Corked(raw, loop)  # type: ignore[arg-type]


def test_a_head_goes_out_with_the_body_after_it(loop, raw, corked) -> None:
    corked.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert raw.writes == []
    corked.write(b"ok")
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    loop.run_until_complete(asyncio.sleep(0))  # the scheduled flush finds nothing held
    assert len(raw.writes) == 1
    assert corked.get_extra_info("peername") == "info:peername"  # the rest is the transport's


def test_a_head_without_a_body_goes_out_on_the_next_turn_or_at_close(loop, raw, corked) -> None:
    corked.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    loop.run_until_complete(asyncio.sleep(0))
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    corked.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    corked.close()
    assert raw.writes[-1] == b"HTTP/1.1 204 No Content\r\n\r\n" and raw.closed


async def app(scope, receive, send):  # a minimal ASGI app: a body, and none for HEAD
    if scope["type"] != "http":
        return
    body = b"hello " * 1000
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def test_a_real_server_answers_get_head_and_connection_close() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           http=CorkedHttpToolsProtocol, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(3):  # keep-alive: several answers on one connection
            conn.request("GET", "/")
            r = conn.getresponse()
            assert (r.status, r.read()) == (200, b"hello " * 1000)
        conn.request("HEAD", "/")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"" and r.getheader("content-length") == "6000"
        conn.request("GET", "/", headers={"Connection": "close"})
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"hello " * 1000
        conn.close()
    finally:
        server.should_exit = True
        thread.join(10)
