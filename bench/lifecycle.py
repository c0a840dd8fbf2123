"""The HTTP ticket lifecycle: opsledger on SQLite and PostgreSQL vs raw inserts and Request Tracker 5.

    PYTHONPATH=. .venv/bin/python -m bench.lifecycle [--stores sqlite,postgres,postgres-rt] [--tickets 1000]
        [--clients 1,8] [--rt-tickets 60] [--rt-dir DIR] [--no-rt] [--json PATH]
        [--client asyncio|threads] [--server-workers N]

One run, one machine, three kinds of figures side by side:

1. opsledger: for every store and client count, ``bench.http_commands.run_level`` starts a
   fresh ``opsledger serve`` subprocess (SQLite file, or a fresh database on a private
   PostgreSQL from ``tests.support.postgres``), runs ``--warmup`` untimed lifecycles, then
   ``--tickets`` lifecycles of six calls (register, assign, start, log_work, resolve, confirm)
   over ``c`` keep-alive connections (``--client asyncio``, the default: one event loop,
   pre-encoded requests, ``bench.aio_client``, lean so that the instrument leaves the shared
   CPU to the server; ``--client threads``: a thread and an ``http.client`` connection each),
   with ``serve --workers N`` when ``--server-workers`` is above 1, and reports tickets/s,
   p50/p95/p99 per call and the CPU per call of the server and of this client. The store ``postgres-rt`` puts opsledger's databases on RT's own PostgreSQL cluster
   (fsync and synchronous commit on, as RT runs), a like-for-like database; skipped without RT;
2. the raw baseline, in the same run: exactly the rows those commands stored, written again by
   raw ``sqlite3`` / ``psycopg`` inserts, one transaction per command, on ``c`` threads;
3. Request Tracker 5, when its peer is installed and running (``../shared/peers/rt``: Debian's
   packages, a private PostgreSQL, Starlet on 127.0.0.1:8080): the peer's own load generator
   ``bench_rt.py`` (standard-library ``http.client`` too) drives the same six-call lifecycle
   through RT's REST 2 API (create, take, comment, open, correspond, resolve) at the same
   client counts, ``--rt-tickets`` tickets each (RT does about one ticket per second, so fewer).
   When RT is not installed or not answering the run says so and goes on without it.

It prints opsledger / RT ratios (tickets/s: how many times faster; latencies: how many times
shorter) and the targets: opsledger >= 100x RT's tickets/s, p99 <= 25 ms at 8 clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, load_average, source_state, stop_on_sigterm, write_json
from bench.http_commands import (
    KINDS,
    TARGET_CLIENTS,
    TARGET_P99_MS,
    RunResult,
    add_load_options,
    client_name,
    open_store,
    print_level,
    run_level,
    server_workers_text,
)

TARGET_RT_RATIO = 100.0
RT_CALLS = ("create", "take", "comment", "open", "correspond", "resolve")
RT_HOST, RT_PORT, RT_HOST_HEADER = "127.0.0.1", 8080, "localhost:8080"
# The RT peer's PostgreSQL 15 cluster (setup_rt.sh: superuser trusted on loopback), so opsledger
# can be measured on the very database server RT uses, with its durability settings.
RT_PG_URL = "postgresql://postgres@127.0.0.1:55433/postgres"
STORE_NAMES = {
    "postgres": "postgres (private test-harness server: fsync off)",
    "postgres-rt": f"postgres-rt (RT's own cluster {RT_PG_URL}: fsync on, as RT runs)",
}


# ------------------------------------------------------------------------ RT peer


def find_rt_dir(given: Path | None) -> Path | None:
    """The RT peer's scripts: ``--rt-dir``, ``$OPSLEDGER_RT_PEER``, or ``../shared/peers/rt``."""
    candidates = [given] if given else [
        Path(p) for p in (os.environ.get("OPSLEDGER_RT_PEER"),) if p
    ] + [ROOT.parent / "shared" / "peers" / "rt", ROOT / "peers" / "rt"]
    for c in candidates:
        if c is not None and (c / "bench_rt.py").is_file():
            return c.resolve()
    return None


def rt_answers(timeout: float = 3.0) -> str | None:
    """None when RT's login page answers on 127.0.0.1:8080; otherwise why not."""
    conn = http.client.HTTPConnection(RT_HOST, RT_PORT, timeout=timeout)
    try:
        conn.request("GET", "/NoAuth/Login.html", headers={"Host": RT_HOST_HEADER})
        status = conn.getresponse().status
    except OSError as e:
        return f"nothing answers on http://{RT_HOST}:{RT_PORT}/ ({type(e).__name__}: {e})"
    finally:
        conn.close()
    return None if status == 200 else f"http://{RT_HOST}:{RT_PORT}/NoAuth/Login.html answered {status}"


@dataclass
class RTResult:
    clients: int
    tickets: int
    seconds: float
    tickets_per_s: float
    calls_per_s: float
    errors: int
    per_call: dict[str, dict[str, float]]  # call -> p50_ms/p95_ms/p99_ms/max_ms
    overall: dict[str, float]
    cpu_s: dict[str, Any] | None


def run_rt(rt_dir: Path, clients: int, tickets: int, warmup: int, workdir: Path) -> RTResult:
    """The peer's ``bench_rt.py`` (unchanged, cookie sessions as RT's UI) at ``clients``."""
    out = workdir / f"rt-{clients}c.json"
    cmd = [sys.executable, str(rt_dir / "bench_rt.py"), "-n", str(tickets), "-c", str(clients),
           "--warmup", str(warmup), "--read-reps", "1", "--open-seed", "0", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)  # noqa: S603
    if not out.is_file():
        raise RuntimeError(f"bench_rt.py -c {clients} wrote no results (exit {proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    run = json.loads(out.read_text())["runs"][0]
    return RTResult(
        clients=clients, tickets=run["tickets_ok"], seconds=run["wall_s"],
        tickets_per_s=run["tickets_per_s"], calls_per_s=run["calls_per_s"], errors=run["errors"],
        per_call={k: {m: v[m] for m in ("p50_ms", "p95_ms", "p99_ms", "max_ms")} for k, v in run["per_call"].items()},
        overall={m: run["all_calls"][m] for m in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
        cpu_s=run.get("cpu_s"),
    )


def print_rt(r: RTResult) -> None:
    print(f"--- Request Tracker, {r.clients} client{'s' if r.clients > 1 else ''}: {r.tickets:,} tickets in "
          f"{r.seconds:.1f} s: {r.tickets_per_s:.2f} tickets/s, {r.calls_per_s:.2f} calls/s, errors {r.errors}")
    print(f"{'call':12} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}  (ms)")
    for name in (*RT_CALLS, "overall"):
        d = r.overall if name == "overall" else r.per_call[name]
        print(f"{name:12} {d['p50_ms']:9.1f} {d['p95_ms']:9.1f} {d['p99_ms']:9.1f} {d['max_ms']:9.1f}")
    if r.cpu_s:
        c = r.cpu_s
        print(f"CPU s during the run: rt-server {c['rt']}, its postgres {c['pg']}, client {c['client']}, "
              f"other processes {c['other']} (box {c['box_util_pct']}% busy)")
    print()


# ------------------------------------------------------------------------ report


@dataclass
class Level:
    store: str
    ops: RunResult
    raws: list[RunResult]


def compare(levels: list[Level], rt: dict[int, RTResult]) -> list[dict[str, Any]]:
    """opsledger / RT for every store and client count RT was measured at."""
    rows = []
    for lv in levels:
        r = rt.get(lv.ops.clients)
        if r is None or r.tickets_per_s <= 0:
            continue
        o = lv.ops.overall
        rows.append({
            "store": lv.store, "clients": lv.ops.clients,
            "opsledger_tickets_per_s": lv.ops.tickets_per_s, "rt_tickets_per_s": r.tickets_per_s,
            "speed_ratio": lv.ops.tickets_per_s / r.tickets_per_s,
            "opsledger_ms": {"p50": o.p50, "p95": o.p95, "p99": o.p99},
            "rt_ms": {"p50": r.overall["p50_ms"], "p95": r.overall["p95_ms"], "p99": r.overall["p99_ms"]},
        })
    return rows


def print_comparison(rows: list[dict[str, Any]]) -> None:
    print("=== opsledger vs Request Tracker 5 (same machine, same run, six-call lifecycle)")
    header = (f"{'store':11} {'clients':>7} | {'tickets/s ops':>13} {'RT':>7} {'ops/RT':>8} |"
              f" {'p50 ms ops':>10} {'RT':>8} {'RT/ops':>7} | {'p99 ms ops':>10} {'RT':>8} {'RT/ops':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        o, r = row["opsledger_ms"], row["rt_ms"]
        print(f"{row['store']:11} {row['clients']:7} | {row['opsledger_tickets_per_s']:13.1f} "
              f"{row['rt_tickets_per_s']:7.2f} {row['speed_ratio']:7.0f}x | {o['p50']:10.2f} {r['p50']:8.1f} "
              f"{r['p50'] / o['p50']:6.0f}x | {o['p99']:10.2f} {r['p99']:8.1f} {r['p99'] / o['p99']:6.0f}x")
    print("(ops/RT: how many times more tickets per second; RT/ops: how many times shorter opsledger's latency)")
    print()


def print_targets(levels: list[Level], comparison: list[dict[str, Any]]) -> list[dict[str, Any]]:
    verdicts = []
    for lv in levels:
        if lv.ops.clients == TARGET_CLIENTS:
            ok = lv.ops.overall.p99 <= TARGET_P99_MS
            verdicts.append({"target": f"p99 <= {TARGET_P99_MS:.0f} ms at {TARGET_CLIENTS} clients",
                             "store": lv.store, "value": lv.ops.overall.p99, "met": ok})
    for row in comparison:
        verdicts.append({"target": f">= {TARGET_RT_RATIO:.0f}x RT tickets/s at {row['clients']} client(s)",
                         "store": row["store"], "value": row["speed_ratio"],
                         "met": row["speed_ratio"] >= TARGET_RT_RATIO})
    for v in verdicts:
        shown = f"{v['value']:.2f} ms" if "ms" in v["target"] else f"{v['value']:.0f}x"
        print(f"target: {v['target']} ({v['store']}): {'MET' if v['met'] else 'NOT MET'} ({shown})")
    return verdicts


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres,postgres-rt",
                        help="comma-separated: sqlite, postgres, postgres-rt (fresh databases on RT's own "
                             "PostgreSQL cluster, fsync on; skipped when RT is not running)")
    parser.add_argument("--tickets", type=int, default=1000,
                        help="timed opsledger lifecycles per store and client count (1,000: runs of several "
                             "seconds; a 2 s run mostly measures how fast the processes warm up)")
    parser.add_argument("--clients", default="1,8", help="comma-separated concurrent client counts")
    parser.add_argument("--warmup", type=int, default=20, help="untimed opsledger lifecycles before each timed run")
    parser.add_argument("--raw-repeats", type=int, default=3, help="raw baseline runs per level; the fastest is kept")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (needs CREATEDB); default: start a private one")
    parser.add_argument("--rt-tickets", type=int, default=60, help="timed RT lifecycles per client count")
    parser.add_argument("--rt-warmup", type=int, default=4, help="untimed RT lifecycles before each timed run")
    parser.add_argument("--rt-dir", type=Path, help="the RT peer's scripts (default ../shared/peers/rt)")
    parser.add_argument("--no-rt", action="store_true", help="do not run Request Tracker")
    add_load_options(parser)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    clients = [int(x) for x in args.clients.split(",") if x.strip()]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]

    print(f"HTTP ticket lifecycle (six calls: {', '.join(KINDS)}) at {args.clients} clients; "
          f"opsledger {args.tickets:,} tickets per level after {args.warmup} warm-up lifecycles")
    print(f"opsledger load generator: {client_name(args.client)}; opsledger serve: "
          f"{server_workers_text(args.server_workers)}")
    print(f"code: {source_state()}; load average at start {load_average():.2f} ({os.cpu_count()} CPUs)")
    print()
    tmp = Path(tempfile.mkdtemp(prefix="opsledger-bench-lifecycle-"))
    levels: list[Level] = []
    rt: dict[int, RTResult] = {}
    rt_note = ""
    try:
        for kind in stores:
            if kind == "postgres-rt" and (why := rt_answers()) is not None:
                print(f"skipping postgres-rt: the RT peer is not running ({why})\n")
                continue
            store = open_store("sqlite" if kind == "sqlite" else "postgres", tmp,
                               RT_PG_URL if kind == "postgres-rt" else args.pg_url)
            if store is None:
                continue
            try:
                print(f"===== opsledger serve on {STORE_NAMES.get(kind, kind)}")
                for c in clients:
                    ops, raws = run_level(store, c, args.tickets, args.warmup, tmp, args.raw_repeats,
                                          args.client, args.server_workers)
                    levels.append(Level(kind, ops, raws))
                    print_level(ops, raws)
            finally:
                store.close()

        rt_dir = None if args.no_rt else find_rt_dir(args.rt_dir)
        if args.no_rt:
            rt_note = "Request Tracker: not run (--no-rt)"
        elif rt_dir is None:
            rt_note = ("Request Tracker: skipped, the peer's scripts are not there (looked for bench_rt.py in "
                       "--rt-dir, $OPSLEDGER_RT_PEER, ../shared/peers/rt)")
        elif (why := rt_answers()) is not None:
            rt_note = (f"Request Tracker: skipped, not running: {why}. Install and start it as root with "
                       f"{rt_dir}/setup_rt.sh (or {rt_dir}/rtctl.sh start)")
        else:
            print(f"===== Request Tracker 5 (REST 2 via {rt_dir}/bench_rt.py, cookie sessions, agent1..agent{max(clients)})")
            for c in clients:
                rt[c] = run_rt(rt_dir, c, args.rt_tickets, args.rt_warmup, tmp)
                print_rt(rt[c])
        if rt_note:
            print(rt_note)
            print()

        comparison = compare(levels, rt)
        if comparison:
            print_comparison(comparison)
        verdicts = print_targets(levels, comparison)
        print(f"load average at end {load_average():.2f}")
        print()
        print("Notes:\n"
              "  * opsledger percentiles interpolate between ranks; bench_rt.py uses the nearest rank\n"
              "    (the same to within one sample at these sizes).\n"
              f"  * load generators: opsledger's {client_name(args.client)}, RT's bench_rt.py threads with\n"
              "    http.client; both keep-alive connections, closed loop without think time, on the same\n"
              "    machine as the servers (RT is server-bound); RT runs on its own PostgreSQL\n"
              "    15 (fsync on); 'postgres' is the test harness's server (fsync off), 'postgres-rt' RT's\n"
              "    own cluster; SQLite runs WAL with synchronous=NORMAL (no fsync per commit), ADR 0026.")
        write_json(args.json, {
            "stores": stores, "clients": clients,
            "client": client_name(args.client), "server_workers": args.server_workers,
            "levels": [{"store": lv.store, "opsledger": lv.ops.as_dict(), "raw": [r.as_dict() for r in lv.raws]}
                       for lv in levels],
            "rt": {str(c): asdict(r) for c, r in rt.items()}, "rt_note": rt_note,
            "comparison": comparison, "targets": verdicts,
        })
        return 0 if all(r.errors == 0 for r in rt.values()) else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
