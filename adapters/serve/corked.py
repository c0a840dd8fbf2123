"""One write per HTTP response (ADR 0041).

uvicorn's response cycle writes a response's status line and headers as soon as the app sends
``http.response.start``, and its body in a second write: two ``send`` system calls and two TCP
segments per answer, and two reads for the client. Every answer here is one ``start`` and one
complete body, so ``CorkedHttpToolsProtocol`` hands the cycle a transport that holds the head
back and writes it together with the body that follows. A head with no body after it (``HEAD``,
``100 Continue``) goes out on the event loop's next turn; a close writes what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD = b"HTTP/1.1 "  # how uvicorn's status lines begin


class _Corked:
    """The connection's transport as the response cycle sees it."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if data.startswith(_HEAD):
            self._held.append(data)
            if len(self._held) == 1:
                self._loop.call_soon(self.flush)
            return
        if self._held:
            self._held.append(data)
            data = b"".join(self._held)
            self._held.clear()
        self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Corked(transport, self.loop))  # type: ignore[arg-type]
