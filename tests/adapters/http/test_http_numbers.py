"""Numbers from outside (issue 16, item 1; ADR 0045): ``If-Match``, ``?cursor=`` on every
list and ``/audit/verify?from=`` are parsed by one parser (``adapters.inputs.numbers``): ASCII
digits only, bounded to 64 bits. Anything else is a 4xx problem+json naming the field, never
a 500 -- on every store.

``If-Match`` is sent through a raw ASGI call: the test client re-encodes header values as
UTF-8, while a real server hands the application the bytes it received (``"\\xb2"`` is
``"²"`` in Latin-1, the encoding of HTTP header values).
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.inputs.numbers import MAX_WHOLE, NotAWholeNumber, whole_argument, whole_number
from tests.fixtures_http import ALL_STORES, API, PROBLEM, Api, assert_problem

#: Every list with a cursor.
LISTS = ["tickets", "queues/unassigned", "queues/mine", "queues/breaching",
         "queues/by-assignee/eng-wang", "problems", "changes", "knowledge"]
BEYOND_64_BITS = str(MAX_WHOLE + 1)  # 9223372036854775808
HOSTILE_NUMBERS = ["²", "٣", "1²", BEYOND_64_BITS, "9" * 40, "5" * 5000, "-1", "+1", " 1",
                   "1_000", "0x10", "1e3", "１"]  # the last: a full-width one
PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def raw_request(api: Api, method: str, path: str, headers: list[tuple[bytes, bytes]],
                body: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
    """One request as a server would pass it on (header bytes untouched)."""
    path_only, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path_only, "raw_path": path_only.encode(),
        "query_string": query.encode(), "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *headers],
    }
    messages: list[dict[str, Any]] = []

    async def run() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        await api.client.app(scope, receive, send)

    api.client.blocking_portal.call(run)
    start = next(m for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), content


def _if_match(api: Api, ticket: str, value: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    return raw_request(api, "POST", f"{API}/tickets/{ticket}/assign", [(b"if-match", value)],
                       json.dumps({"assignee": "eng-li"}).encode())


def _assert_4xx_problem(status: int, headers: dict[bytes, bytes], body: bytes,
                        field: str | None = None) -> None:
    assert 400 <= status < 500, (status, body[:300])
    assert headers[b"content-type"].decode().startswith(PROBLEM), headers
    if field is not None:
        assert field in [e["field"] for e in json.loads(body)["errors"]], body


# ------------------------------------------------------------------ the parser


@pytest.mark.parametrize("text", HOSTILE_NUMBERS + ["", "abc", "3.0"])
def test_the_parser_takes_ascii_digits_only(text: str):
    with pytest.raises(NotAWholeNumber):
        whole_number(text)


def test_the_parser_bounds_and_bytes():
    assert whole_number("0") == 0 and whole_number("007") == 7
    assert whole_number(str(MAX_WHOLE)) == MAX_WHOLE
    assert whole_number(b"42") == 42
    with pytest.raises(NotAWholeNumber, match="from 1 to"):
        whole_number("0", low=1)
    with pytest.raises(NotAWholeNumber):
        whole_number(b"\xb2")  # "²" in Latin-1


@given(st.text())
def test_the_parser_never_raises_anything_but_its_own_error(text: str):
    try:
        value = whole_number(text)
    except NotAWholeNumber:
        return
    assert text.isascii() and text.isdigit() and 0 <= value <= MAX_WHOLE


def test_the_cli_argument_type_is_the_same_parser():
    parse = whole_argument(low=1)
    assert parse("12") == 12
    for bad in ("²", BEYOND_64_BITS, "0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


# ------------------------------------------------------------------ examples, every store


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_hostile_if_match_is_a_400_naming_it(api: Api):
    t = api.given_ticket("classified")
    for value in ('"²"'.encode("latin-1"), b"\xb2", b'"' + b"5" * 5000 + b'"',
                  f'"{BEYOND_64_BITS}"'.encode(), b'W/"\xb3"', b'"\xd9\xa3"'):
        _assert_4xx_problem(*_if_match(api, t["id"], value), field="If-Match")
        assert _if_match(api, t["id"], value)[0] == 400
    assert api.view(t["id"])["status"] == "classified"  # nothing recorded
    status, _, body = _if_match(api, t["id"], b'"%d"' % t["version"])
    assert status == 200, body  # a good one still works


@pytest.mark.parametrize("http_store", ALL_STORES)
@pytest.mark.parametrize("path", LISTS)
def test_a_hostile_cursor_is_a_400_naming_it_on_every_list(read_only_store_api: Api, path: str):
    api = read_only_store_api  # GETs only: one app per module and store
    # the breaching queue's cursors are wider than 64 bits (a due time and a row, ADR 0017)
    wide = path == "queues/breaching"
    for cursor in ("%C2%B2", "%D9%A3", "-1", "1e3", "9" * 40, *(() if wide else (BEYOND_64_BITS,))):
        r = api.client.get(f"{API}/{path}?cursor={cursor}")
        assert_problem(r, 400, field="cursor")
    assert api.client.get(f"{API}/{path}?cursor={MAX_WHOLE}").status_code == 200
    assert api.client.get(f"{API}/{path}?cursor=0").status_code == 200
    if wide:
        for cursor in (BEYOND_64_BITS, "17955504000000000000000000042", "9" * 30):
            r = api.client.get(f"{API}/{path}?cursor={cursor}")
            assert r.status_code == 200, r.text


@pytest.mark.parametrize("http_store", ALL_STORES)
def test_a_hostile_audit_from_is_a_422_naming_it(api: Api):
    api.given_ticket()
    for value in (BEYOND_64_BITS, "%C2%B2", "%D9%A3", "9" * 40, "-1", "0"):
        assert_problem(api.client.get(f"{API}/audit/verify?from={value}"), 422, field="from")
    r = api.client.get(f"{API}/audit/verify?from={MAX_WHOLE}")
    assert r.status_code == 200, r.text
    assert api.client.get(f"{API}/audit/verify?from=1").json()["ok"] is True


# ------------------------------------------------------------------ properties: never a 500

_LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
_NUMBERISH = st.one_of(
    st.text(),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(alphabet="0123456789²³¹٣１", max_size=30),
    st.integers(min_value=19, max_value=6000).map(lambda n: "9" * n),
)


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_if_match_of_any_text_is_4xx_or_success_never_500(api: Api):
    t = api.given_ticket("classified")

    @PROPERTY
    @given(st.one_of(
        st.text(alphabet=_LATIN1, max_size=60),
        st.text(alphabet=_LATIN1, max_size=40).map(lambda s: f'"{s}"'),
        st.text(alphabet="0123456789²³¹", max_size=30).map(lambda s: f'"{s}"'),
        st.integers(min_value=0, max_value=2**70).map(lambda n: f'W/"{n}"'),
        st.integers(min_value=19, max_value=6000).map(lambda n: '"' + "9" * n + '"'),
    ))
    def check(value: str) -> None:
        status, headers, body = _if_match(api, t["id"], value.encode("latin-1"))
        assert status < 500, (value[:80], body[:300])
        if status >= 400:
            _assert_4xx_problem(status, headers, body)

    check()


def _query_never_500(api: Api, path: str, name: str) -> None:
    """``GET path?name=<any number-like text>`` answers 4xx (a problem) or success, never 500."""
    api.given_ticket()

    @PROPERTY
    @given(_NUMBERISH)
    def check(value: str) -> None:
        r = api.client.get(f"{API}/{path}?{name}={quote(value, safe='')}")
        assert r.status_code < 500, (value[:80], r.text[:300])
        if r.status_code >= 400:
            assert_problem(r, r.status_code)

    check()


@pytest.mark.parametrize("http_store", ["sqlite"])
@pytest.mark.parametrize("path", LISTS)
def test_a_cursor_of_any_text_is_4xx_or_success_never_500(api: Api, path: str):
    _query_never_500(api, path, "cursor")


@pytest.mark.parametrize("http_store", ["sqlite"])
def test_an_audit_from_of_any_text_is_4xx_or_success_never_500(api: Api):
    _query_never_500(api, "audit/verify", "from")
