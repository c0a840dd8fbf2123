"""One SLA watcher tick over N open tickets (issue 3, target: ≤ 1 s at 100k), ADR 0016.

    PYTHONPATH=. .venv/bin/python -m bench.sla_watch [--n 100000] [--due-percent 1]

On an SQLite file: ``n × due%`` real P1 tickets are registered through the desk (reported
Monday 10:00, so their response 50 % warning is at 11:00); the other open ticket clocks are
rows written straight into the ``sla_due`` index with next checks in the future (registering
100k tickets through the desk takes minutes; the tick only ever touches the index for them).
Then, with the index caught up:

* **nothing due** (now = 10:30): the tick's index query finds nothing; median of 7 ticks;
* **1 % due** (now = 11:05): one tick records one warning on each real ticket (one short
  transaction per ticket through the desk).

Baseline for both: a raw ``sqlite3`` SELECT of the same rows (``next_check_at <= now`` in
order) on the same file.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.container import build
from adapters.settings import Settings
from adapters.stores.views_file import SUFFIX
from application.commands.tickets import RegisterTicket
from application.ports import FixedClock
from bench.common import ROOT, load_average, source_state
from domain.ticket import Contact
from projections.sla_due.projection import COLUMNS, stamp

SH = ZoneInfo("Asia/Shanghai")
P1 = dict(type="fault", category="software", urgency="very_urgent", impact="all",
          importance="important")
QUERY = ("SELECT ticket_id, clock, next_check_at FROM sla_due WHERE next_check_at IS NOT NULL "
         "AND next_check_at <= ? ORDER BY next_check_at LIMIT ?")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000, help="open tickets (2 clocks each)")
    parser.add_argument("--due-percent", type=float, default=1.0)
    args = parser.parse_args()
    n, due_n = args.n, max(1, round(args.n * args.due_percent / 100))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=SH))
        s = build(Settings(database_url=f"sqlite:///{path}", sla_watch_seconds=0), clock=clock)
        try:
            began = time.perf_counter()
            for i in range(due_n):
                s.desk.handle(RegisterTicket(customer="C", contact=Contact("n"), channel="web",
                                             title=f"t{i}", **P1), actor="bench")
            s.runner.catch_up(s.sla_due)
            rows = []
            future = stamp(datetime(2027, 1, 4, 10, 0, tzinfo=SH))
            for i in range(n - due_n):
                for clock_name in ("response", "resolution"):
                    tid = f"00000000-0000-4000-8000-{i:012d}"
                    rows.append((f"{tid}:{clock_name}", tid, clock_name, future, "[0.5, 0.75]",
                                 json.dumps([future, future]), "[]", 1, 0, future, 3))
            with s.sla_due.store.transaction() as cur:  # type: ignore[attr-defined]
                cur.executemany(
                    f"INSERT INTO sla_due ({', '.join(COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(COLUMNS))})", rows)
            setup = time.perf_counter() - began
            raw = sqlite3.connect(f"{path}{SUFFIX}")  # the read models' file (ADR 0073)

            def baseline(now: datetime) -> tuple[float, int]:
                t0 = time.perf_counter()
                got = raw.execute(QUERY, (stamp(now), 10_000)).fetchall()
                return time.perf_counter() - t0, len(got)

            quiet = datetime(2026, 11, 23, 10, 30, tzinfo=SH)
            clock.set(quiet)
            idle = []
            for _ in range(7):
                t0 = time.perf_counter()
                counts = s.watcher.tick()
                idle.append(time.perf_counter() - t0)
                assert counts.checked == 0
            idle_base = statistics.median(baseline(quiet)[0] for _ in range(7))

            busy_at = datetime(2026, 11, 23, 11, 5, tzinfo=SH)
            base_busy, found = baseline(busy_at)
            clock.set(busy_at)
            t0 = time.perf_counter()
            counts = s.watcher.tick()
            busy = time.perf_counter() - t0
            assert (counts.checked, counts.warnings, counts.failed) == (due_n, due_n, 0), counts
            t0 = time.perf_counter()
            s.runner.catch_up(s.sla_due)
            index_after = time.perf_counter() - t0
            raw.close()
        finally:
            s.close()
    result = {
        "benchmark": "sla_watch",
        "source": source_state(),
        "load_average": load_average(),
        "open_tickets": n,
        "index_rows": 2 * n,
        "real_tickets_due": due_n,
        "setup_seconds": round(setup, 1),
        "tick_nothing_due_ms": round(statistics.median(idle) * 1000, 3),
        "baseline_select_nothing_due_ms": round(idle_base * 1000, 3),
        "tick_one_percent_due_ms": round(busy * 1000, 1),
        "one_percent_due_per_ticket_ms": round(busy * 1000 / due_n, 3),
        "baseline_select_one_percent_due_ms": round(base_busy * 1000, 3),
        "baseline_rows": found,
        "index_catch_up_after_tick_ms": round(index_after * 1000, 1),
    }
    out = ROOT / "bench" / "results" / "sla-watch.json"
    out.parent.mkdir(parents=True, exist_ok=True)  # git-ignored: absent on a fresh clone
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
