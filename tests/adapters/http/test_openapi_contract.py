"""The OpenAPI document is exactly the server's contract (issue 16 item 5, ADR 0044).

The fuzz run (``test_schemathesis.py``) checks it by sampling: a request the document allows
is never refused as malformed (``positive_data_acceptance``) and every answer's status is one
the document lists (``status_code_conformance``). These tests pin what was loose before:
bodies that said ``null`` was fine, patterns no JSON Schema validator can compile (so no
client checked them), path and query limits, ``limit`` bounds and control-character rules
that were not declared, ``customer`` not marked required, unknown body fields not refused,
statuses the document did not list -- and each one against what the server does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import msgspec
import pytest

from adapters.http.schemas import common as s
from adapters.http.schemas.tickets import FeedbackIn
from adapters.http.edge.limits import MAX_PATH_VALUE, MAX_QUERY_VALUE
from tests.fixtures_http import API, Api, assert_problem, ticket_body

MEMORY_ONLY = pytest.mark.parametrize("http_store", ["memory"])
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document(read_only_api: Api) -> dict[str, Any]:
    """The document of one app for the module's tests: every build makes the same (ADR 0076)."""
    r = read_only_api.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _component(document: dict[str, Any], ref: str) -> dict[str, Any]:
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]  # type: ignore[no-any-return]


def test_every_pattern_compiles_in_a_json_schema_validator(document: dict[str, Any]):
    """Before: the text patterns held the surrogate range (``\\ud800-\\udfff``), which no
    JSON Schema (ECMA-262) regular expression can hold: validators refused the pattern, and
    clients and fuzzers checked nothing."""
    patterns = {node["pattern"] for node in _walk(document) if isinstance(node.get("pattern"), str)}
    assert len(patterns) > 10
    bad = []
    for pattern in sorted(patterns):
        try:
            jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
        except (ValueError, jsonschema_rs.ValidationError) as e:
            bad.append(f"{pattern}: {e}")
    assert bad == []


@MEMORY_ONLY
def test_a_body_is_null_or_left_out_only_where_the_server_takes_that(
        api: Api, document: dict[str, Any]):
    """Before: 52 command bodies said ``null`` was fine, and the server refused it."""
    t = api.given_ticket("registered")
    for path, method, op in _operations(document):
        body = op.get("requestBody")
        if body is None or "multipart/form-data" in body["content"]:  # a file (ADR 0056)
            continue
        schema = body["content"]["application/json"]["schema"]
        if "anyOf" in schema:  # may be null or left out: no field of it is required
            ref = schema["anyOf"][0]["$ref"]
            assert schema["anyOf"][1] == {"type": "null"}, (path, schema)
            assert body["required"] is False, path
            assert _component(document, ref)["required"] == [], path
        else:
            assert body["required"] is True, path
            assert "null" not in str(schema), path
    # the server agrees: null for a body with required fields is a 400 naming the body...
    r = api.client.post(f"{API}/tickets/{t['id']}/classify", content=b"null",
                        headers={"content-type": "application/json"})
    assert_problem(r, 400)
    # ... and taken (as no body) where every field is optional
    r = api.client.post(f"{API}/tickets/{t['id']}/assign", content=b"null",
                        headers={"content-type": "application/json"})
    assert r.status_code != 400, r.text


def test_bodies_refuse_unknown_fields_and_constrain_list_items(
        read_only_api: Api, document: dict[str, Any]):
    """Before: ``additionalProperties`` was not declared (the structs forbid unknown fields)
    and list items (``attachments``, ``items``, ``tags``) had no length or character rule."""
    register = _component(document, "RegisterTicket")
    assert register["additionalProperties"] is False
    attachments = register["properties"]["attachments"]["items"]
    assert attachments["maxLength"] == 2_000 and attachments["pattern"] == s.TEXT
    for path, method, op in _operations(document):
        if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            ref = schema.get("$ref") or schema["anyOf"][0]["$ref"]
            assert _component(document, ref)["additionalProperties"] is False, path
    r = read_only_api.client.post(f"{API}/tickets", json=ticket_body(colour="red"))
    assert_problem(r, 400, field="colour")
    r = read_only_api.client.post(f"{API}/tickets", json=ticket_body(attachments=["a\rb"]))
    assert_problem(r, 400, field="attachments[0]")


def test_customer_is_required_to_register_a_ticket(read_only_api: Api,
                                                   document: dict[str, Any]):
    """Before: ``customer`` was optional and nullable in the document, and staff got a 400
    without it (a requester may still leave it out: their own organisation)."""
    register = _component(document, "RegisterTicket")
    assert "customer" in register["required"]
    assert register["properties"]["customer"]["type"] == "string"
    body = {k: v for k, v in ticket_body().items() if k != "customer"}
    r = read_only_api.client.post(f"{API}/tickets", json=body)
    assert_problem(r, 400, field="customer")


def test_times_are_documented_in_the_range_the_server_holds(read_only_api: Api,
                                                            document: dict[str, Any]):
    """Before: ``date-time`` alone: year 0001 was valid by the document and a 400."""
    reported_at = _component(document, "RegisterTicket")["properties"]["reported_at"]["anyOf"][0]
    assert reported_at["format"] == "date-time"
    assert reported_at["pattern"] == s.TIME_PATTERN
    validator = jsonschema_rs.validator_for(reported_at)
    assert validator.is_valid("2026-11-21T00:30:00+08:00")
    assert not validator.is_valid("0001-01-01T00:00:00+14:00")
    r = read_only_api.client.post(f"{API}/tickets",
                                  json=ticket_body(reported_at="0001-01-01T00:00:00+14:00"))
    assert_problem(r, 400, field="reported_at")


def test_path_and_query_parameters_state_the_edges_rules(read_only_api: Api,
                                                         document: dict[str, Any]):
    """Before: path ids and query values had no length or character rule (the edge refuses
    more than 200/2,000 characters and control characters), ``limit`` no bounds, the list
    filters no values, and every optional query parameter said it could be ``null``."""
    for path, method, op in _operations(document):
        for parameter in op.get("parameters", []):
            schema, where = parameter["schema"], parameter["in"]
            assert "null" not in str(schema), (path, parameter["name"])
            if schema.get("type") != "string" or "enum" in schema:
                continue
            assert "pattern" in schema, (path, parameter["name"])
            if where == "path":
                assert 1 <= schema["minLength"] and schema["maxLength"] <= MAX_PATH_VALUE, path
            elif where == "query":
                assert schema["maxLength"] <= MAX_QUERY_VALUE, path
    tickets = {p["name"]: p["schema"] for p in document["paths"][f"{API}/tickets"]["get"]["parameters"]}
    assert (tickets["limit"]["minimum"], tickets["limit"]["maximum"]) == (1, 500)
    status = jsonschema_rs.validator_for(tickets["status"])
    assert status.is_valid("registered,classified") and not status.is_valid("nonsense")
    client = read_only_api.client
    assert_problem(client.get(f"{API}/tickets", params={"status": "nonsense"}), 400,
                   field="status")
    assert_problem(client.get(f"{API}/tickets", params={"limit": "501"}), 400, field="limit")
    assert_problem(client.get(f"{API}/tickets/a%01b"), 400, field="ref")


@MEMORY_ONLY
def test_the_statuses_routes_answer_are_documented(api: Api, document: dict[str, Any]):
    """Before: a PUT that creates answered 201, a repeated customer registration 200, and a
    malformed report period or audit position 422, none of them documented."""
    paths = document["paths"]
    assert "201" in paths[f"{API}/calendars/{{slug}}"]["put"]["responses"]
    assert "201" in paths[f"{API}/sla-policies/{{slug}}"]["put"]["responses"]
    assert "201" in paths[f"{API}/standard-changes/{{slug}}"]["put"]["responses"]
    assert "200" in paths[f"{API}/customers"]["post"]["responses"]
    report = paths[f"{API}/projects/{{ref}}/reports/{{period}}"]["get"]["responses"]
    assert report["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    assert "422" in paths[f"{API}/audit/verify"]["get"]["responses"]
    r = api.client.put(f"{API}/calendars/fuzz-cal", json={"name": "Cal", "working_hours": {}})
    assert r.status_code == 201, r.text
    r = api.client.post(f"{API}/customers", json={"id": "c1", "name": "C"})
    assert r.status_code == 201, r.text
    r = api.client.post(f"{API}/customers", json={"id": "c1", "name": "C"})
    assert r.status_code == 200, r.text


def test_an_email_with_a_control_character_is_refused_as_documented(
        read_only_api: Api, document: dict[str, Any]):
    """Before: ``[^@\\s]`` meant a different class in Python (which counts U+001C-U+001F as
    space) and in JSON Schema: a group separator was valid by the document and a 400."""
    email = _component(document, "ContactIn")["properties"]["email"]
    assert not jsonschema_rs.validator_for(email).is_valid("li\x1d@example.com")
    body = ticket_body(contact={"name": "李四", "email": "li\x1d@example.com"})
    r = read_only_api.client.post(f"{API}/tickets", json=body)
    assert_problem(r, 400, field="contact.email")


@MEMORY_ONLY
def test_a_whole_number_written_with_a_fraction_is_an_integer(api: Api):
    """JSON Schema counts ``5.0`` as the integer 5, so the document allows it where it says
    ``integer``; before, the server refused it (a 400 naming the field). It still refuses
    ``5.5`` and ``"5"``."""
    t = api.given_ticket("closed")
    r = api.client.post(f"{API}/tickets/{t['id']}/feedback",
                        content=b'{"timeliness": 4.5, "effectiveness": 4, "attitude": 5}',
                        headers={"content-type": "application/json"})
    assert_problem(r, 400, field="timeliness")
    r = api.client.post(f"{API}/tickets/{t['id']}/feedback",
                        content=b'{"timeliness": 5.0, "effectiveness": 4, "attitude": 5}',
                        headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["feedback"]["timeliness"] == 5, r.text
    ok = s.decode_body(FeedbackIn, b'{"timeliness": 5.0, "effectiveness": 4, "attitude": 1.0}')
    assert (ok.timeliness, ok.effectiveness, ok.attitude) == (5, 4, 1)
    for bad in (b'{"timeliness": 5.5, "effectiveness": 4, "attitude": 1}',
                b'{"timeliness": "5", "effectiveness": 4, "attitude": 1}',
                b'{"timeliness": 6.0, "effectiveness": 4, "attitude": 1}'):
        with pytest.raises(msgspec.ValidationError):
            s.decode_body(FeedbackIn, bad)
