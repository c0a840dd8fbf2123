"""``GET /api/v1/cis/{id}/impact`` at 100,000 CIs and 300,000 relations (issue 20 item 1,
ADR 0063), beside a baseline measured in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.ci_impact [--cis 100000] [--relations 300000]
        [--queries 1000] [--depth 10] [--limit 1000] [--seed 7] [--json PATH]

1. Build, with the domain: ``--cis`` CIs (``ConfigurationItem.register``) in the layers of a
   real estate -- network and storage (1 % each), hosts (10 %), virtual machines (30 %),
   applications and databases (40 %), PCs and printers (the rest), over 200 customers -- and
   ``--relations`` relations (``relate``): each host ``connected_to`` two switches and
   ``depends_on`` one storage array, each VM ``runs_on`` a host, each application ``runs_on``
   a VM, each PC ``connected_to`` a switch, and the rest application ``depends_on``
   application at random (so there are cycles). Their events go through the CI index
   (``projections.ci_index``) as the projection engine hands them over, in batches of 5,000.
2. Measure ``--queries`` impact walks from CIs drawn at random (a fixed seed), with the
   route's default bounds (``--depth`` 10, ``--limit`` 1,000), each timed from the call to
   having the affected CIs' rows (what the route reads before writing JSON).
3. Baseline, in the same run on the same graph: the walk as a SQL recursive query
   (``WITH RECURSIVE … UNION``, each CI once, stopped at ``--limit`` CIs; no depth bound,
   which SQL's ``UNION`` cannot keep while deduplicating by CI) over an indexed
   ``relation(target, source)`` table in an in-memory SQLite database, from the same starts
   -- what a read model in SQL would answer.

Prints p50/p99/max of both (wall clock; for ours also the thread's CPU time, which tells a
busy machine's waits apart) and the ratio of the p99s; target p99 ≤ 50 ms (wall clock).
It is a benchmark, not a test (``tests/test_bench_smoke.py`` runs it at a tiny size).
"""

from __future__ import annotations

import gc
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.ci import ConfigurationItem
from domain.numbering import record_id_for
from projections.base import Positioned
from projections.ci_index.view import CiIndex

AT = datetime(2026, 12, 1, tzinfo=UTC)
TARGET_MS = 50.0


def _layers(n: int) -> dict[str, int]:
    sizes = {"network": n // 100, "storage": n // 100, "server": n // 10,
             "virtual_machine": 3 * n // 10, "application": 4 * n // 10}
    sizes = {k: max(1, v) for k, v in sizes.items()}
    sizes["pc"] = max(1, n - sum(sizes.values()))
    return sizes


def build(n_cis: int, n_relations: int, seed: int) -> tuple[CiIndex, list[tuple[str, str]],
                                                            list[str], float]:
    """The index fed with the graph's events, the relations ``(source, target)``, the CI
    ids, and the seconds it took."""
    rng = random.Random(seed)
    started = time.perf_counter()
    index = CiIndex()
    events: list[Any] = []
    by_class: dict[str, list[ConfigurationItem]] = {}
    seq = 0
    for cls, size in _layers(n_cis).items():
        for _ in range(size):
            seq += 1
            number = f"CI-20261201-{seq:06d}"
            ci = ConfigurationItem.register(
                id=record_id_for(number), number=number, name=f"{cls}-{seq}", ci_class=cls,
                customer=f"客户{seq % 200:03d}", actor="bench", at=AT)
            by_class.setdefault(cls, []).append(ci)
    edges: list[tuple[ConfigurationItem, str, ConfigurationItem]] = []
    nets, stores = by_class["network"], by_class["storage"]
    hosts, vms, apps = by_class["server"], by_class["virtual_machine"], by_class["application"]
    for h in hosts:
        edges += [(h, "connected_to", rng.choice(nets)), (h, "connected_to", rng.choice(nets)),
                  (h, "depends_on", rng.choice(stores))]
    edges += [(v, "runs_on", rng.choice(hosts)) for v in vms]
    edges += [(a, "runs_on", rng.choice(vms)) for a in apps]
    edges += [(p, "connected_to", rng.choice(nets)) for p in by_class["pc"]]
    while len(edges) < n_relations:
        edges.append((rng.choice(apps), "depends_on", rng.choice(apps)))
    pairs: list[tuple[str, str]] = []
    for i, (source, kind, target) in enumerate(edges[:n_relations]):
        if source is target:
            continue
        before = len(source.relations)
        source.relate(relation_id=f"r{i}", type=kind, target=str(target.id),
                      target_number=target.number, actor="bench", at=AT)
        if len(source.relations) > before:
            pairs.append((str(source.id), str(target.id)))
    for cis in by_class.values():
        for ci in cis:
            events += ci.collect_events()
    position = 0
    for start in range(0, len(events), 5000):
        batch = [Positioned(position + k + 1, e) for k, e in enumerate(events[start:start + 5000])]
        index.apply(batch, start=position, end=position + len(batch))
        position += len(batch)
    ids = [str(ci.id) for cis in by_class.values() for ci in cis]
    return index, pairs, ids, time.perf_counter() - started


def baseline_db(pairs: Sequence[tuple[str, str]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE relation (target TEXT NOT NULL, source TEXT NOT NULL)")
    db.executemany("INSERT INTO relation VALUES (?, ?)", [(t, s) for s, t in pairs])
    db.execute("CREATE INDEX relation_target ON relation (target, source)")
    return db


BASELINE_SQL = """
WITH RECURSIVE walk(id) AS (
    SELECT ?
    UNION
    SELECT r.source FROM relation r JOIN walk w ON r.target = w.id
    LIMIT ?
)
SELECT id FROM walk WHERE id != ?
"""


def _stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered), 3), "p99": round(p99, 3),
            "max": round(ordered[-1], 3)}


def measure(index: CiIndex, db: sqlite3.Connection, ids: Sequence[str], queries: int,
            depth: int, limit: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed + 1)
    starts = [rng.choice(ids) for _ in range(queries)]
    ours: list[float] = []
    ours_cpu: list[float] = []
    base: list[float] = []
    found: list[int] = []
    for ci in starts:  # interleaved, each start walked both ways
        t0, c0 = time.perf_counter(), time.thread_time()
        impact = index.impact(ci, depth=depth, limit=limit)
        index.rows_of([a.id for a in impact.affected])
        ours.append((time.perf_counter() - t0) * 1000)
        ours_cpu.append((time.thread_time() - c0) * 1000)
        found.append(len(impact.affected))
        t0 = time.perf_counter()
        db.execute(BASELINE_SQL, (ci, limit + 1, ci)).fetchall()
        base.append((time.perf_counter() - t0) * 1000)
    o, b = _stats(ours), _stats(base)
    return {"index_ms": o, "index_cpu_ms": _stats(ours_cpu), "baseline_sql_ms": b,
            "ratio_p99": round(o["p99"] / b["p99"], 4) if b["p99"] else None,
            "affected_mean": round(statistics.mean(found), 1), "affected_max": max(found),
            "target_p99_ms": TARGET_MS, "met": o["p99"] <= TARGET_MS}


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.ci_impact",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--relations", type=int, default=300_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    index, pairs, ids, seconds = build(args.cis, args.relations, args.seed)
    db = baseline_db(pairs)
    # The index is long-lived, as in ``serve`` after its start, which freezes its startup
    # heap (ADR 0054): full collections no longer walk it.
    gc.collect()
    gc.freeze()
    result = measure(index, db, ids, args.queries, args.depth, args.limit, args.seed)
    result.update({"cis": index.count(), "relations": len(pairs),
                   "build_seconds": round(seconds, 2), "depth": args.depth, "limit": args.limit,
                   "queries": args.queries})
    o, b = result["index_ms"], result["baseline_sql_ms"]
    print(f"CI impact at {result['cis']:,} CIs / {result['relations']:,} relations "
          f"(built and indexed in {seconds:.1f} s), {args.queries} walks, depth ≤ {args.depth}, "
          f"≤ {args.limit} CIs (mean {result['affected_mean']}, max {result['affected_max']})")
    print(f"  index (ours):       p50 {o['p50']:.3f} ms  p99 {o['p99']:.3f} ms  max {o['max']:.3f} ms")
    c = result["index_cpu_ms"]
    print(f"  index, CPU time:    p50 {c['p50']:.3f} ms  p99 {c['p99']:.3f} ms  max {c['max']:.3f} ms"
          "  (this thread's own: the difference is waiting for a core)")
    print(f"  baseline (SQL CTE): p50 {b['p50']:.3f} ms  p99 {b['p99']:.3f} ms  max {b['max']:.3f} ms")
    print(f"  ratio p99 ours/baseline: {result['ratio_p99']}  target p99 ≤ {TARGET_MS:g} ms: "
          f"{'met' if result['met'] else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
