"""Schemathesis over the whole OpenAPI document of the app (issue 7, ADR 0037).

The document is the one the app serves (``GET /schema/openapi.json``), so a new route is
fuzzed as soon as it exists. Every operation gets a bounded number of generated requests,
valid and invalid ones, sent in-process through the app's test client with the operator's
admin token (exempt from the rate limit). Some path ids are swapped for records seeded
first, so commands and reads also meet real tickets, problems and customers. Checks: no
5xx; every status is one the operation documents and every answer conforms to its
documented schema (problem+json for the errors); and the document is exactly the server's
contract (issue 16 item 5, ADR 0044): a request that the document allows is never refused as
malformed (``positive_data_acceptance``: it may be answered 2xx, or refused for who sends it,
what it names, the record's state or a business rule — never 400, 413 or 415).
"""

from __future__ import annotations

import os

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import Unsatisfiable
from litestar.exceptions import ValidationException
from schemathesis.checks import (
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from adapters.http.kit import period_bound as _period_bound
from tests.fixtures_http import API, CLASSIFICATION, Api, ticket_body

TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Per operation and mode (valid, invalid); ~95 operations: ~1,000 requests.
MAX_EXAMPLES = int(os.environ.get("OPSLEDGER_FUZZ_EXAMPLES", "5"))  # more for a longer hunt
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          positive_data_acceptance]
# What a request the document allows may be answered (ADR 0044): anything but a refusal of
# its form (400, 413, 415). 404: an id it names does not exist; 409/412: the record's state
# or version; 422: a rule no schema can state (another record, the time, several fields).
ACCEPTED = ["2xx", "401", "403", "404", "409", "412", "422", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}})

pytestmark = pytest.mark.parametrize("http_store", ["sqlite"])


def _seed(api: Api) -> dict[str, list[str]]:
    """A customer, tickets in two states and a problem: ids the fuzzer's paths can hit."""
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api.client.post(f"{API}/{path}", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    customer = post("customers", {"id": "fuzz-co", "name": "Fuzz Co"})
    tickets = [post("tickets", ticket_body()), post("tickets", ticket_body(**CLASSIFICATION))]
    problem = post("problems", {"title": "登录失败", "description": "ERP",
                                "tickets": [tickets[0]["id"]]})
    return {
        "ref": [t["id"] for t in tickets] + [tickets[0]["number"], problem["id"]],
        "customer": [customer["id"]],
    }


@pytest.fixture
def fuzz_api(make_api: Callable[..., Api]) -> Api:
    return make_api(admin_token=TOKEN)


@pytest.fixture
def seeded(fuzz_api: Api) -> dict[str, list[str]]:
    return _seed(fuzz_api)


# Operations with a rule across their parameters, which OpenAPI cannot state (it is in the
# parameters' descriptions): a period's from and to are given together, to later than from.
PERIODS = {f"{API}/sla/compliance", f"{API}/changes/calendar"}
PERIODS |= {f"{API}/agreements/{{ref}}/compliance", f"{API}/complaints/figures"}  # ADR 0066


def _breaks_a_rule_across_parameters(case: Any) -> bool:
    if case.path not in PERIODS or not case.meta.generation.mode.is_positive:
        return False
    query = case.query or {}
    if "from" not in query or "to" not in query:  # both left out: compliance's current month
        return ("from" in query) != ("to" in query)
    try:
        start = _period_bound(query["from"], "from", end=False)
        return _period_bound(query["to"], "to", end=True) <= start
    except ValidationException:  # a malformed value: the document's own business
        return False


def _call(api: Api, case: Any, seeded: dict[str, list[str]]) -> None:
    """Send one generated case through the test client and check the answer."""
    if _breaks_a_rule_across_parameters(case):
        reject()
    rng = random.Random(repr(case.path_parameters))
    for name, known in seeded.items():
        if case.path_parameters and name in case.path_parameters and rng.random() < 0.5:
            case.path_parameters[name] = rng.choice(known)
    kwargs = case.as_transport_kwargs(base_url="http://testserver.local", headers=AUTH)
    if kwargs.get("files"):  # a multipart form (POST /api/v1/attachments, ADR 0056)
        form = httpx.Request(kwargs["method"], kwargs["url"], files=kwargs["files"])
        body = form.read()
        headers = {**(kwargs.get("headers") or {}), "content-type": form.headers["content-type"]}
        response = api.client.request(kwargs["method"], kwargs["url"], headers=headers,
                                      params=kwargs.get("params"), content=body)
    else:
        response = api.client.request(
            kwargs["method"], kwargs["url"], headers=kwargs.get("headers"),
            params=kwargs.get("params"), content=_content(kwargs),
        )
    case.validate_response(response, checks=CHECKS)


def _content(kwargs: dict[str, Any]) -> bytes | None:
    """The body as schemathesis serialised it (JSON, or raw bytes for negative cases)."""
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    return data.encode() if isinstance(data, str) else data


def test_no_operation_answers_a_server_error_or_off_schema(
    fuzz_api: Api, seeded: dict[str, list[str]]
) -> None:
    r = fuzz_api.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    schema = schemathesis.openapi.from_dict(r.json(), config=CONFIG)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=not os.environ.get("OPSLEDGER_FUZZ_EXAMPLES"))
            def fuzz(case: Any) -> None:
                _call(fuzz_api, case, seeded)

            try:
                fuzz()
            except Unsatisfiable:  # every string is valid there: no invalid case exists
                assert mode is GenerationMode.NEGATIVE, operation.label
            # schemathesis reports through a FailureGroup (a BaseExceptionGroup)
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - reported below
                failures.append(f"{operation.label} ({mode.value}): {e}")
    assert operations > 80, operations  # the whole document, not a part of it
    assert not failures, "\n\n".join(failures)
