"""No page shows anyone what the matrix keeps from them (issue 18): every GET page of the
console, taken from the app's own route table, as each customer's requester on their own
records and the other customer's, and as an auditor — the same world, words and rules as the
API's own test (tests/adapters/http/test_access_matrix.py)."""

from __future__ import annotations

import re

import pytest

from tests.adapters.http.test_access_matrix import (  # noqa: F401 - the fixture
    EMAIL, INTERFACE, NAME, PHONE, READERS, STAFF_WORDS, _words_of, world)


def _pages(app) -> list[str]:
    return sorted({re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path) for route in app.routes
                   if "GET" in getattr(route, "methods", ())
                   and route.path.startswith(("/ui", "/portal"))
                   and not route.path.startswith(("/ui/static", "/ui/login"))})


def _page_path(world, template: str, customer: str) -> str:
    own = {"客户A": (world.ticket, world.project), "客户B": (world.ticket_b, world.project_b)}
    ticket, project = own[customer]
    refs = {"tickets": ticket["number"], "projects": project["id"],
            "problems": world.problem["id"], "changes": world.problem_change["id"],
            "knowledge": world.article["id"]}
    collection = template.strip("/").split("/")[1] if template.count("/") > 1 else ""
    return template.replace("{ref}", str(refs.get(collection, "x")))


@pytest.mark.parametrize(("reader", "user", "mine", "theirs"), READERS,
                         ids=["requester-of-B", "requester-of-A"])
def test_a_requester_never_reads_another_customers_words_on_a_page(world, reader, user, mine,
                                                                   theirs):
    headers, client = world.tokens[reader], world.api.client
    forbidden = _words_of(world, theirs) + STAFF_WORDS
    pages = _pages(client.app)
    assert "/portal/tickets/{ref}" in pages and "/ui/tickets/{ref}" in pages
    queries = [{}, {"q": "超时"}, {"customer": theirs}, {"queue": "all"},
               {"as_of": world.api.clock.now().isoformat()}]
    leaks: list[str] = []
    seen: dict[str, int] = {}
    for template in pages:
        for whose in (mine, theirs):
            path = _page_path(world, template, whose)
            for query in queries:
                r = client.get(path, params=query, headers=headers, follow_redirects=False)
                where = f"{template} [{whose}] {query}"
                assert r.status_code in (200, 303, 400, 403, 404, 422), (where, r.status_code)
                if not query:
                    seen[f"{template} {whose}"] = r.status_code
                if r.status_code == 200:
                    leaks += [f"{where}: {w}" for w in forbidden if w in r.text]
    assert leaks == []
    # Not vacuous: their own ticket page answers, the other's is 404, the desk sends them off
    assert seen[f"/portal/tickets/{{ref}} {mine}"] == 200
    assert seen[f"/portal/tickets/{{ref}} {theirs}"] == 404
    assert seen[f"/ui/tickets/{{ref}} {mine}"] in (303, 403)
    assert seen[f"/ui/tickets/{{ref}} {theirs}"] == 404


def test_an_auditor_reads_pages_with_contacts_masked_and_no_forms(world):
    headers, client = world.tokens["auditor"], world.api.client
    number = world.ticket["number"]
    for path in (f"/ui/tickets/{number}", "/ui/?queue=all", f"/ui/search?q={number}",
                 f"/ui/projects/{world.project['id']}"):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.status_code)
        for secret in (PHONE, EMAIL, NAME, INTERFACE):
            assert secret not in r.text, (path, secret)
    page = client.get(f"/ui/tickets/{number}", headers=headers).text
    assert "138****5678" in page
    assert 'method="post" action="/ui/tickets/' not in page


def test_another_organisations_ticket_is_404_on_the_desks_page_too(world):
    """A requester's session on /ui/tickets/{x}: another organisation's ticket does not exist
    (404), their own sends them to the portal (the desk is for staff)."""
    headers, client = world.tokens["requester-b"], world.api.client
    theirs = client.get(f"/ui/tickets/{world.ticket['number']}", headers=headers,
                        follow_redirects=False)
    assert theirs.status_code == 404
    own = client.get(f"/ui/tickets/{world.ticket_b['number']}", headers=headers,
                     follow_redirects=False)
    assert own.status_code == 303 and own.headers["location"].startswith("/portal/")
