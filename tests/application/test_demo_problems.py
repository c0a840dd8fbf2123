"""``opsledger demo`` also turns repeated incidents into problems (adapters/demo/problems.py):
one known error, one resolved, one still recorded, each linked both ways to its tickets;
beside them, the problem a closed major incident opened (adapters/demo/risks.py, ADR 0067)."""

from __future__ import annotations

from pathlib import Path

from adapters.container import build
from adapters.demo.run import run_demo
from adapters.settings import Settings
from application import problems as uc
from projections.problem_list.view import ProblemQuery


def test_the_demo_records_problems_linked_to_its_tickets(tmp_path: Path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    assert run_demo(settings, tickets=40, seed=3) == 0
    services = build(settings)
    try:
        services.runner.catch_up(services.problems)
        rows = services.problems.query(ProblemQuery()).rows
        from_incidents = [r for r in rows if not r["title"].startswith("反复故障")]
        assert len(from_incidents) == 1 and from_incidents[0]["status"] == "recorded"
        rows = [r for r in rows if r not in from_incidents]
        assert sorted(r["status"] for r in rows) == ["known_error", "recorded", "resolved"]
        for row in rows:
            p = uc.get_problem(services.desk, row["number"])
            assert p.linked() and p.title.startswith("反复故障")
            for ticket_id, _ in p.linked():
                assert str(p.id) in services.desk.get_ticket(ticket_id).problems
            if p.status != "recorded":
                assert p.root_cause and p.workaround and p.known_error
        assert any(r["ticket_count"] > 1 for r in rows)  # repeated incidents, linked in one step
    finally:
        services.close()
