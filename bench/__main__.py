"""Run a suite of benchmarks and write a markdown summary.

    PYTHONPATH=. .venv/bin/python -m bench [--suite quick|full|scale] [--stores sqlite,postgres]
        [--http-tickets N] [--rt-tickets N] [--append-tickets N] [--rebuild-tickets N]
        [--scale-tickets N] [--pg-url URL] [--no-rt] [--client asyncio|threads] [--server-workers N]

Suites (``make bench-quick``, ``make bench``, ``make bench-scale``):

* ``quick``: every benchmark at small sizes (a few minutes; RT with a handful of tickets);
* ``full``: the HTTP lifecycle (opsledger on every store at 1 and 8 clients, the raw baseline,
  Request Tracker when it runs), append, rebuild and encoding at moderate sizes;
* ``scale``: ``bench.scale`` with 1,000,000 tickets (about 7M events) on every store, and
  ``bench.partition`` (queries at 50k and 100k tickets extrapolated to 10M, partitioned copies
  of the event table; PostgreSQL only, ADR 0070).

Each benchmark runs in its own interpreter and writes JSON next to the summary;
``bench/results/summary.md`` (git-ignored) gets the key figures with their same-run baselines,
ratios and targets, then every benchmark's output verbatim. It is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, source_state
from bench.http_commands import add_load_options

RESULTS = ROOT / "bench" / "results"
SIZES = {  # suite -> default sizes
    "quick": {"http": 60, "rt": 6, "append": 300, "rebuild": 5_000, "scale": 20_000, "encoding": 200,
              "audit": 2_000, "replica": 2_000},
    "full": {"http": 1_000, "rt": 60, "append": 1_000, "rebuild": 20_000, "scale": 20_000, "encoding": 1_000,
             "audit": 10_000, "replica": 20_000},
    "scale": {"scale": 1_000_000, "partition": 100_000, "audit": 100_000},
}
Row = list[str]


def run(module: str, args: list[str]) -> tuple[int, str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    out = proc.stdout + (("\n[stderr]\n" + proc.stderr) if proc.stderr.strip() else "")
    return proc.returncode, out, time.perf_counter() - began


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


# ------------------------------------------------------------------- key figures


def rebuild_rows(d: dict[str, Any]) -> list[Row]:
    """The bulk rebuild of each view (ADR 0068) beside the raw reads and the incremental path."""
    store, ops, goal = d["store"], d["lines"][0], d["target_events_per_s"]
    rows = [[f"{ops['name']}, {d['events']:,} events", store, f"events/s vs {ln['name'].removeprefix('raw ')}",
             f"{ops['per_s']:,.0f}", f"{ln['per_s']:,.0f}", f"{ops['per_s'] / ln['per_s']:.3f}x",
             f"≥ {goal:,} events/s {verdict(ops['per_s'] >= goal)}"] for ln in d["lines"][1:]]
    before = d.get("incremental")
    for ln in ([ops, *d.get("views", [])] if before else []):
        rows.append([f"{ln['name']}, {d['events']:,} events", store, f"events/s vs {before['name']}",
                     f"{ln['per_s']:,.0f}", f"{before['per_s']:,.0f}", f"{ln['per_s'] / before['per_s']:.3f}x",
                     f"≥ {goal:,} events/s {verdict(ln['per_s'] >= goal)}" if "one pass" not in ln["name"] else ""])
    return rows


def lifecycle_rows(d: dict[str, Any]) -> list[Row]:
    rows = []
    for lv in d["levels"]:
        o, store = lv["opsledger"], lv["store"]
        workers = o.get("server_workers", 1)
        what = (f"HTTP lifecycle, {o['clients']} client{'s' if o['clients'] > 1 else ''}, {o['tickets']:,} tickets, "
                f"{workers} server worker{'s' if workers > 1 else ''}")
        target = f"p99 ≤ 25 ms {verdict(o['overall']['p99'] <= 25)}" if o["clients"] == 8 else ""
        for r in lv["raw"]:
            rows.append([what, store, f"commands/s vs {r['label']}", f"{o['commands_per_s']:,.0f}",
                         f"{r['commands_per_s']:,.0f}", f"{o['commands_per_s'] / r['commands_per_s']:.3f}x", ""])
        rows.append([what, store, "tickets/s; p50 / p99 ms (all calls)", f"{o['tickets_per_s']:,.1f}; "
                     f"{o['overall']['p50']:.2f} / {o['overall']['p99']:.2f}", "", "", target])
        if o.get("server_cpu_s") is not None and o.get("client_cpu_s") is not None:
            rows.append([what, store, f"CPU ms per call: server; client ({o.get('client') or '?'})",
                         f"{o['server_cpu_s'] / o['commands'] * 1000:.2f}; "
                         f"{o['client_cpu_s'] / o['commands'] * 1000:.3f}", "", "", ""])
    for c in d.get("comparison", []):
        rows.append([f"HTTP lifecycle vs Request Tracker 5, {c['clients']} client{'s' if c['clients'] > 1 else ''}",
                     c["store"], "tickets/s vs RT", f"{c['opsledger_tickets_per_s']:,.1f}",
                     f"{c['rt_tickets_per_s']:.2f}", f"{c['speed_ratio']:,.0f}x",
                     f"≥ 100x {verdict(c['speed_ratio'] >= 100)}"])
        rows.append([f"HTTP lifecycle vs Request Tracker 5, {c['clients']} client{'s' if c['clients'] > 1 else ''}",
                     c["store"], "p99 ms vs RT", f"{c['opsledger_ms']['p99']:.2f}", f"{c['rt_ms']['p99']:.1f}",
                     f"{c['opsledger_ms']['p99'] / c['rt_ms']['p99']:.4f}x", ""])
    if d.get("rt_note"):
        rows.append(["HTTP lifecycle vs Request Tracker 5", "-", d["rt_note"], "", "", "", ""])
    return rows


def audit_rows(d: dict[str, Any]) -> list[Row]:
    """Each audit line beside the raw read of the same rows (``bench/audit.py``)."""
    raw = next(ln for ln in d["lines"] if ln["name"] == "raw read every row")
    return [[f"audit, {d['events']:,} events", d["store"], f"{ln['name']} events/s vs raw read",
             f"{ln['per_s']:,.0f}", f"{raw['per_s']:,.0f}", f"{ln['per_s'] / raw['per_s']:.3f}x", ""]
            for ln in d["lines"] if not ln["name"].startswith("raw read every")]


def append_rows(d: dict[str, Any]) -> list[Row]:
    o, r = d["desk"], d["raw"]
    return [[f"append (desk in process), {d['tickets']:,} tickets, {o['rows']:,} events", d["store"],
             f"events/s vs {r['label']}", f"{o['events_per_s']:,.0f}", f"{r['events_per_s']:,.0f}",
             f"{d['ratio_events_per_s']:.3f}x", ""]]


def scale_rows(d: dict[str, Any]) -> list[Row]:
    store, what = d["store"], f"scale, {d['tickets']:,} tickets, {d['events']:,} events"
    raw = d["raw_read"]["rows"] / d["raw_read"]["seconds"]
    rows = [[what, store, f"rebuild {r['view']} events/s vs raw read", f"{r['events'] / r['seconds']:,.0f}",
             f"{raw:,.0f}", f"{r['events'] / r['seconds'] / raw:.3f}x", ""] for r in d["rebuild"]]
    at_1m = d["rebuild_total_s"] * 1_000_000 / d["tickets"]
    rows.append([what, store, "full rebuild, every view (s); at 1M tickets, linear", f"{d['rebuild_total_s']:.1f}",
                 "", f"{at_1m:,.0f} s", f"≤ 120 s at 1M {verdict(at_1m <= 120)}"])
    for q in d["queries"]:
        if q["floor"]:
            rows.append([what, store, f"p99 ms {q['name']} vs {q['floor_name']}", f"{q['dist']['p99']:.2f}",
                         f"{q['floor']['p99']:.2f}", f"{q['dist']['p99'] / q['floor']['p99']:.1f}x", ""])
    return rows


def server_cpu_rows(d: dict[str, Any]) -> list[Row]:
    """CPU per command of each server process beside the baseline commit (``bench/server_cpu.py``)."""
    what = f"server CPU per command vs {d['baseline']}"
    return [[what, d["store"], f"ms {key}", f"{f['this']:.3f}", f"{f['baseline']:.3f}",
             f"{f['this'] / f['baseline']:.2f}x" if f["baseline"] else "-", ""]
            for key, f in d["summary"].items() if key in ("HTTP workers", "projections worker", "total")]


def replica_rows(d: dict[str, Any]) -> list[Row]:
    """Lists and read-after-write from the standby beside the primary (``bench/replica.py``)."""
    what = f"replica, {d['tickets']:,} tickets"
    return [[what, "postgres", f"p50 ms {name}: standby vs primary", f"{f['replica']['p50']:.2f}",
             f"{f['primary']['p50']:.2f}", f"{f['replica']['p50'] / f['primary']['p50']:.2f}x", ""]
            for name, f in d["figures"].items()]


def partition_rows(d: dict[str, Any]) -> list[Row]:
    """The queries at the last size beside the round trip, their 10M extrapolation, and the
    partitioned copies' reads beside the unpartitioned one (``bench/partition.py``)."""
    last = d["sizes"][-1]
    what = f"partition, {last['tickets']:,} tickets, {last['events']:,} events"
    f = last["figures"]
    rows = []
    for name, x in d["extrapolated_10m"].items():
        floor = "floor raw SELECT of its events" if name.startswith("as-of") else "floor SELECT 1"
        rows.append([what, "postgres", f"p50 ms {name} vs {floor.removeprefix('floor ')}",
                     f"{f[name]['p50']:.2f}", f"{f[floor]['p50']:.2f}",
                     f"{f[name]['p50'] / f[floor]['p50']:.1f}x", f"10M: {x['p50_10m_ms']:.2f} ms"])
    reads = d["partitions"]["reads"]
    for copy in ("ev_range", "ev_hash"):
        for w, dist in reads[copy].items():
            base = reads["ev_plain"][w]["p50"]
            rows.append([what, "postgres", f"p50 ms {copy}: {w} vs unpartitioned", f"{dist['p50']:.2f}",
                         f"{base:.2f}", f"{dist['p50'] / base:.2f}x", ""])
    return rows


# -------------------------------------------------------------------------- plan


Step = tuple[str, list[str], Path | None, Callable[[dict[str, Any]], list[Row]] | None]


def plan(args: argparse.Namespace) -> list[Step]:
    sizes = SIZES[args.suite]
    size = lambda key: getattr(args, f"{key}_tickets", None) or sizes[key]  # noqa: E731
    pg = ["--pg-url", args.pg_url] if args.pg_url else []
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    steps: list[Step] = []
    if args.suite == "scale":
        for store in stores:
            steps.append(("bench.scale", ["--tickets", str(size("scale")), "--store", store, *pg],
                          RESULTS / f"scale-{store}.json", scale_rows))
        if "postgres" in stores:  # ADR 0070
            steps.append(("bench.partition", ["--tickets", str(sizes["partition"]), *pg],
                          RESULTS / "partition.json", partition_rows))
        for store in stores:  # ADR 0069: 750,000 events, extrapolated to 7.5M in bench/README.md
            steps.append(("bench.audit", ["--tickets", str(sizes["audit"]), "--store", store,
                                          "--repeats", "1", *pg],
                          RESULTS / f"audit-scale-{store}.json", audit_rows))
        return steps
    # With RT: opsledger also on RT's own PostgreSQL cluster (skipped with a note when RT is down).
    http_stores = [*stores, "postgres-rt"] if "postgres" in stores and not args.no_rt else stores
    lifecycle = ["--stores", ",".join(http_stores), "--tickets", str(size("http")), "--rt-tickets", str(size("rt")), *pg]
    lifecycle += ["--client", args.client, "--server-workers", str(args.server_workers)]
    if args.no_rt:
        lifecycle.append("--no-rt")
    steps.append(("bench.lifecycle", lifecycle, RESULTS / "lifecycle.json", lifecycle_rows))
    for store in stores:
        steps.append(("bench.append", ["--tickets", str(size("append")), "--store", store, *pg],
                      RESULTS / f"append-{store}.json", append_rows))
        steps.append(("bench.rebuild", ["--tickets", str(size("rebuild")), "--store", store, *pg],
                      RESULTS / f"rebuild-{store}.json", rebuild_rows))
        steps.append(("bench.audit", ["--tickets", str(size("audit")), "--store", store, *pg],
                      RESULTS / f"audit-{store}.json", audit_rows))
    if args.suite == "full":  # ADR 0071: each server process's CPU per command beside 069cee2
        for store in stores:
            steps.append(("bench.server_cpu", ["--tickets", "400", "--store", store, *pg],
                          RESULTS / f"server-cpu-{store}.json", server_cpu_rows))
    if "postgres" in stores:  # ADR 0070: lists from a hot standby
        steps.append(("bench.replica", ["--tickets", str(size("replica"))], RESULTS / "replica.json",
                      replica_rows))
    if args.suite == "quick":
        steps.append(("bench.scale", ["--tickets", str(size("scale")), "--queries", "50", "--store", stores[0], *pg],
                      RESULTS / f"scale-{stores[0]}.json", scale_rows))
    steps.append(("bench.encoding", ["--n", str(sizes["encoding"])], None, None))
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--suite", choices=tuple(SIZES), default="full")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--http-tickets", type=int, help="opsledger lifecycles per store and client count")
    parser.add_argument("--rt-tickets", type=int, help="Request Tracker lifecycles per client count")
    parser.add_argument("--append-tickets", type=int)
    parser.add_argument("--rebuild-tickets", type=int)
    parser.add_argument("--scale-tickets", type=int)
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (needs CREATEDB); default: a private one")
    parser.add_argument("--no-rt", action="store_true", help="do not run Request Tracker")
    add_load_options(parser)  # passed to bench.lifecycle
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)

    started = datetime.now().astimezone()
    load_at_start = os.getloadavg()[0]
    sections: list[tuple[str, int, str, float]] = []
    key: list[Row] = []
    for module, cmd, out, rows in plan(args):
        if out is not None:
            out.unlink(missing_ok=True)
            cmd = [*cmd, "--json", str(out)]
        title = f"{module} {' '.join(cmd[:-2] if out else cmd)}"
        print(f"running python -m {title} ...", file=sys.stderr, flush=True)
        code, text, secs = run(module, cmd)
        sections.append((title, code, text, secs))
        data = load(out) if out else None
        if data and rows:
            key += rows(data)

    md = [
        f"# opsledger benchmarks ({args.suite})",
        "",
        f"{started:%Y-%m-%d %H:%M %z}; code {source_state()}; Python {platform.python_version()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs); load average {load_at_start:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end.",
        "Every figure is measured against a baseline measured in the same run (see bench/README.md and ADR 0026).",
        "",
        "## Key figures",
        "",
        "| benchmark | store | figure | opsledger | baseline | opsledger / baseline | target |",
        "|---|---|---|---:|---:|---:|---|",
        *("| " + " | ".join(r) + " |" for r in key),
        "",
    ]
    for title, code, out_text, secs in sections:
        status = "" if code == 0 else f" — exit {code}"
        md += [f"## `python -m {title}` ({secs:.0f} s){status}", "", "```", out_text.rstrip(), "```", ""]
    text = "\n".join(md)
    (RESULTS / "summary.md").write_text(text)
    print(text)
    print(f"\nwritten to {RESULTS / 'summary.md'}", file=sys.stderr)
    return 0 if all(code == 0 for _, code, _, _ in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
