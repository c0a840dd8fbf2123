"""The lean load generator: N ticket lifecycles on N keep-alive HTTP/1.1 connections, one event loop.

The benchmark client is the measuring instrument, and on the 2-core machine it shares the CPU
with the server it measures: every millisecond of CPU it spends is taken from the server. The
thread client (``bench.http_commands.Client``: a thread and an ``http.client`` connection per
client, 0.23-0.33 ms of CPU per call at 8 clients, much of it thread switches and the GIL) is
kept for comparison (``--client threads``); this one runs every connection on one event loop in
one thread (uvloop when it is importable) and does as little per call as HTTP allows:

* requests are bytes built before the clock starts (request line, ``Host``, ``Authorization:
  Bearer``, ``Content-Type: application/json``, ``Content-Length``, body); only the ticket id
  from ``register``'s ``Location`` is spliced into the five later request lines;
* each connection is an ``asyncio.Protocol`` that parses the response as its bytes arrive (the
  status line; the headers it needs, ``Content-Length``, ``Location``, ``Connection``,
  ``Transfer-Encoding``; exactly ``Content-Length`` body bytes, or up to the close when there
  is none; a chunked body is refused rather than misread) and, from that same callback, sends
  the lifecycle's next request: no future, task or coroutine switch per call (that alone cost
  about a fifth of the client's CPU);
* each call is timed with ``time.perf_counter`` from just before its bytes are written to the
  moment its last byte is parsed, so other connections' work queued on the loop is not counted
  as its latency.

A non-2xx answer (201 for register, 200 for the rest) fails the run with the call, the status
and the body, as the thread client does. ``Connection: close`` from the server is honoured
(the next request goes on a new connection); a connection lost before any byte of a response
is reopened and the request sent once more, as the thread client does for a stale keep-alive
connection; lost mid-response, the run fails.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

from bench.http_commands import KINDS, Meter

try:  # the loop the server runs on too; plain asyncio works, with more CPU per call
    import uvloop

    LOOP: str = "uvloop"
    _loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop is in the project's environment
    LOOP = "asyncio"
    _loop_factory = None

Sample = tuple[str, float]
HEALTHZ = -1  # the untimed GET /healthz that opens a connection before the clock starts
_HEADERS = re.compile(rb"\r\n(content-length|location|connection|transfer-encoding)[ \t]*:[ \t]*([^\r]*)",
                      re.IGNORECASE)


def parse_head(buf: bytearray, end: int) -> tuple[int, dict[bytes, bytes]]:
    """Status code and the headers the client uses (lower-cased names) of the response head
    ``buf[:end]`` (its lines, without the blank one), read in place."""
    if not buf.startswith(b"HTTP/1.") or end < 12 or buf[12:13] not in (b" ", b"\r"):
        raise ValueError(f"not an HTTP/1.x status line: {bytes(buf[:100])!r}")
    headers = {}
    for name, value in _HEADERS.findall(buf, 0, end):
        headers[name.lower()] = value
    return int(buf[9:12]), headers


def request_tail(host: str, port: int, token: str, body: bytes = b"") -> bytes:
    """Everything after a request's path: version, the fixed headers, Content-Length, body."""
    return (f" HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


@dataclass(slots=True)
class Prepared:
    """One lifecycle's requests as bytes: register whole, the others as what follows the ticket id."""

    register: bytes
    rest: tuple[bytes, ...]  # for KINDS[1:]: b"/<kind> HTTP/1.1\r\n...body"


class Disconnected(ConnectionError):
    """The server closed the connection before the response was complete."""


class _Link(asyncio.Protocol):
    """One TCP connection of a ``LifecycleConnection``; passes its events on while it is the
    current one (the close of a connection the client has moved on from is not news)."""

    def __init__(self, owner: LifecycleConnection) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.owner.link is self:
            self.owner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.owner.link is self:
            self.owner.connection_lost(exc)


class LifecycleConnection:
    """One keep-alive connection driving its share of lifecycles back to back from the loop's
    callbacks: the last byte of a response sends the next request. ``ready`` resolves after
    the untimed ``GET /healthz``, ``done`` when the share is through (or with the error)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, token: str,
                 bodies: list[dict[str, bytes]], out: list[Sample]) -> None:
        self.loop, self.host, self.port, self.out = loop, host, port, out

        def tail(body: bytes = b"") -> bytes:
            return request_tail(host, port, token, body)

        self.healthz = b"GET /healthz" + tail()
        self.work = [Prepared(b"POST /api/v1/tickets" + tail(b["register"]),
                              tuple(b"/" + k.encode() + tail(b[k]) for k in KINDS[1:])) for b in bodies]
        self.ready: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        self.link: _Link | None = None  # the current TCP connection; None once closed
        self.buf = bytearray()
        self.lifecycle, self.step = 0, HEALTHZ  # which lifecycle, which call of it (index in KINDS)
        self.ticket = b""
        self.in_flight = b""  # the request awaiting its response, resent once if the connection drops
        self.retried = False
        self.status, self.length = 0, -2  # -2: head not parsed yet; -1: body ends at the close
        self.headers: dict[bytes, bytes] = {}
        self.sent_at = 0.0

    # ------------------------------------------------------------------ driving

    async def open(self) -> None:
        _, self.link = await self.loop.create_connection(lambda: _Link(self), self.host, self.port)

    def close(self) -> None:
        link, self.link = self.link, None
        if link is not None and link.transport is not None:
            link.transport.close()

    def probe(self) -> None:
        """The untimed ``GET /healthz`` on the open connection; resolves ``ready``."""
        self._send(self.healthz)

    def start(self) -> None:
        """Begin the timed lifecycles (after ``ready``)."""
        if not self.work:
            self.done.set_result(None)
        else:
            self.step = 0
            self._send(self.work[0].register)

    def _send(self, data: bytes) -> None:
        self.in_flight, self.length = data, -2
        self.sent_at = perf_counter()
        if self.link is None:  # the server closed the last one (Connection: close)
            self.loop.create_task(self._reopen(data))
        else:
            self.link.transport.write(data)  # type: ignore[union-attr]

    async def _reopen(self, data: bytes) -> None:
        """A new connection, then ``data`` on it; the call's clock keeps running, as
        ``http.client`` counts its reconnect in the call."""
        try:
            await self.open()
        except OSError as e:
            self._fail(e)
            return
        self.link.transport.write(data)  # type: ignore[union-attr]

    def _fail(self, exc: BaseException) -> None:
        """Stop this connection's share with ``exc`` (the first error only)."""
        self.in_flight = b""
        self.close()
        for f in (self.ready, self.done):
            if not f.done():
                f.set_exception(exc)
                return

    # ------------------------------------------------------------------ parsing

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.length == -2:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self.status, self.headers = parse_head(self.buf, end + 2)
            except ValueError as e:
                self._fail(e)
                return
            del self.buf[: end + 4]
            if b"content-length" in self.headers:
                self.length = int(self.headers[b"content-length"])
            elif b"chunked" in self.headers.get(b"transfer-encoding", b"").lower():
                self._fail(ValueError(f"chunked response (status {self.status}) is not supported"))
                return
            else:
                self.length = -1  # the body ends when the server closes
        if 0 <= self.length <= len(self.buf):
            self._complete(self.length)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link = None
        if self.done.done() or not self.in_flight:
            return
        if self.length == -1:
            self._complete(len(self.buf))
        elif self.length == -2 and not self.buf and not self.retried:
            self.retried = True
            self.loop.create_task(self._reopen(self.in_flight))
        else:
            self._fail(Disconnected(f"connection closed during {self._call_name()} ({exc or 'by the server'})"))

    # ------------------------------------------------------------------ the lifecycle

    def _call_name(self) -> str:
        if self.step == HEALTHZ:
            return "GET /healthz"
        return f"{KINDS[self.step]} {self.ticket.decode()}".rstrip()

    def _complete(self, length: int) -> None:
        """The response is in: its body is ``buf[:length]`` (copied only to report an error)."""
        ms = (perf_counter() - self.sent_at) * 1000
        step = self.step
        if self.status != (200 if step else 201):  # register answers 201, the rest (and /healthz) 200
            text = bytes(self.buf[:length]).decode("utf-8", "replace")[:500]
            self._fail(RuntimeError(f"{self._call_name()}: {self.status} {text}"))
            return
        del self.buf[:length]
        self.in_flight, self.retried = b"", False
        if self.headers.get(b"connection", b"").lower() == b"close":
            self.close()
        if step == HEALTHZ:
            self.ready.set_result(None)
            return
        self.out.append((KINDS[step], ms))
        req = self.work[self.lifecycle]
        if step == 0:
            self.ticket = self.headers[b"location"].rsplit(b"/", 1)[1]
        if step + 1 < len(KINDS):
            self.step = step + 1
            self._send(b"POST /api/v1/tickets/" + self.ticket + req.rest[step])
            return
        self.lifecycle, self.step, self.ticket = self.lifecycle + 1, 0, b""
        if self.lifecycle == len(self.work):
            self.done.set_result(None)
            self.close()
        else:
            self._send(self.work[self.lifecycle].register)


async def _drive(base_url: str, token: str, shares: list[list[dict[str, bytes]]],
                 meter: Meter | None) -> tuple[float, list[Sample], list[BaseException]]:
    loop = asyncio.get_running_loop()
    parts = urllib.parse.urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    outs: list[list[Sample]] = [[] for _ in shares]
    conns = [LifecycleConnection(loop, host, port, token, share, out) for share, out in zip(shares, outs, strict=True)]
    try:
        for c in conns:  # open every keep-alive connection before the clock starts
            await c.open()
            c.probe()
            await c.ready
        if meter is not None:
            meter.start()
        began = perf_counter()
        for c in conns:
            c.start()
        done = await asyncio.gather(*(c.done for c in conns), return_exceptions=True)
        seconds = perf_counter() - began
        if meter is not None:
            meter.stop()
        return seconds, [s for o in outs for s in o], [e for e in done if isinstance(e, BaseException)]
    finally:
        for c in conns:
            c.close()


def timed_lifecycles(base_url: str, token: str, shares: list[list[dict[str, bytes]]],
                     meter: Meter | None = None) -> tuple[float, list[Sample], list[BaseException]]:
    """Run each share's lifecycles on its own connection, all started together on one loop:
    (wall seconds, (kind, ms) samples, errors), as ``bench.http_commands.timed_threads``."""
    with asyncio.Runner(loop_factory=_loop_factory) as runner:
        return runner.run(_drive(base_url, token, shares, meter))
