"""A JSON answer encoded where it is built and sent as it is (ADR 0040).

Litestar's response path (header objects, rendering on the event loop) cost about as much as
the encoding itself, on the loop every request shares: ~0.1 ms per command (ADR 0040's
measurements). ``record_response`` in the kit answers with it.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response
from litestar.serialization import encode_json, get_serializer
from litestar.types import Receive, Scope, Send


class JsonAnswer(Response[Any]):
    """A JSON answer encoded where it is built, in the worker thread, and sent as it is
    (ADR 0040): Litestar's response path (header objects, rendering on the event loop) costs
    about as much as the encoding itself, on the loop that every request shares. Encoded as
    Litestar's ``Response`` does (its serializer); a route that adds its own headers or
    cookies gets Litestar's path."""

    __slots__ = ("_body", "_headers")

    def __init__(self, content: Any, *, status_code: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, headers=headers,
                         media_type=MediaType.JSON)
        self._body = encode_json(content, get_serializer())
        self._headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                         for k, v in (headers or {}).items()]

    def to_asgi_response(self, app: Any, request: Any, *, background: Any = None,
                         cookies: Any = None, encoded_headers: Any = None, headers: Any = None,
                         is_head_response: bool = False, media_type: Any = None,
                         status_code: int | None = None, type_encoders: Any = None) -> Any:
        if background or cookies or encoded_headers or headers or is_head_response or self.cookies:
            return super().to_asgi_response(
                app, request, background=background, cookies=cookies,
                encoded_headers=encoded_headers, headers=headers,
                is_head_response=is_head_response, media_type=media_type,
                status_code=status_code, type_encoders=type_encoders)
        return _Encoded(self.status_code or status_code or 200, [
            *self._headers, (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode())], self._body)


class _Encoded:
    """The ASGI answer of a ``JsonAnswer``: start and body, nothing else to do."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
