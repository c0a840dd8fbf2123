"""The demo's delivery project (adapters/demo/projects.py): a contract become a project with a
monthly inspection, its runs recorded, one abnormal with its ticket linked both ways."""

from __future__ import annotations

from adapters.container import build
from adapters.demo.run import run_demo
from adapters.settings import Settings
from application import projects as uc


def test_the_demo_project_has_recorded_runs_and_an_abnormal_one_with_its_ticket(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    assert run_demo(settings, tickets=5, seed=11) == 0
    services = build(settings)
    try:
        [p] = uc.list_projects(services.desk, customer="华东电力集团")
        assert p.status == "planned" and len(p.routines) == 2
        assert {r.kind for r in p.routines} == {"inspection", "backup"}
        [bad] = [r for r in p.runs if r.verdict == "abnormal"]
        assert bad.ticket_number is not None
        t = services.desk.get_ticket(bad.ticket_number)
        assert t.source is not None and str(p.id) in t.source and t.customer == p.customer
        runs = uc.routine_runs(services.desk, p.id, now=services.desk.clock.now())
        assert {r.status for r in runs} >= {"done", "abnormal"}
        # The missed backup is overdue (others may have come due since the demo ran).
        open_runs = [r for r in runs if r.record is None]
        assert open_runs and {r.kind for r in open_runs} == {"backup"}
        assert "overdue" in {r.status for r in open_runs}
        assert p.surveys and p.reports
    finally:
        services.close()
