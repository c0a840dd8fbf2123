"""Run the benchmarks with moderate sizes and write a markdown summary.

    PYTHONPATH=. .venv/bin/python -m bench [--stores sqlite,postgres] [--http-tickets 300]
        [--rebuild-tickets 20000] [--skip-encoding]

Runs, each in its own interpreter, for every store in ``--stores``: ``bench.rebuild`` and
``bench.http_commands`` (1 and 8 clients); and once ``bench.encoding``. Writes
``bench/results/summary.md`` (git-ignored): the key figures with their same-run baselines and
ratios, then every benchmark's output verbatim; and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, source_state

RESULTS = ROOT / "bench" / "results"


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


def key_rows(store: str, rebuild: dict[str, Any] | None, http: dict[str, Any] | None) -> list[str]:
    rows = []
    if rebuild:
        lines = {ln["name"]: ln for ln in rebuild["lines"]}
        ops = rebuild["lines"][0]
        target = f"≥ {rebuild['target_events_per_s']:,} events/s" if store == "sqlite" else "-"
        verdict = ("MET" if ops["per_s"] >= rebuild["target_events_per_s"] else "NOT MET") if store == "sqlite" else ""
        for name, ln in lines.items():
            if name == ops["name"]:
                continue
            rows.append(
                f"| rebuild ticket_list, {rebuild['events']:,} events | {store} | events/s vs {name.removeprefix('raw ')} "
                f"| {ops['per_s']:,.0f} | {ln['per_s']:,.0f} | {ops['per_s'] / ln['per_s']:.3f}x | {target} {verdict} |"
            )
    if http:
        for level in http["levels"]:
            o = level["opsledger"]
            for r in level["raw"]:
                label = r["label"]
                target = ""
                if store == "sqlite" and o["clients"] == 8:
                    target = f"p99 ≤ 25 ms: {'MET' if o['overall']['p99'] <= 25 else 'NOT MET'}"
                rows.append(
                    f"| HTTP commands, {o['clients']} client{'s' if o['clients'] > 1 else ''}, {o['commands']:,} calls | {store} "
                    f"| commands/s vs {label} | {o['commands_per_s']:,.0f} | {r['commands_per_s']:,.0f} "
                    f"| {o['commands_per_s'] / r['commands_per_s']:.3f}x | |"
                )
                rows.append(
                    f"| HTTP commands, {o['clients']} client{'s' if o['clients'] > 1 else ''} | {store} "
                    f"| p50 / p99 ms vs {label} | {o['overall']['p50']:.2f} / {o['overall']['p99']:.2f} "
                    f"| {r['overall']['p50']:.2f} / {r['overall']['p99']:.2f} "
                    f"| {o['overall']['p50'] / r['overall']['p50']:.1f}x / {o['overall']['p99'] / r['overall']['p99']:.1f}x | {target} |"
                )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stores", default="sqlite", help="comma-separated: sqlite, postgres")
    parser.add_argument("--http-tickets", type=int, default=300)
    parser.add_argument("--rebuild-tickets", type=int, default=20_000)
    parser.add_argument("--skip-encoding", action="store_true")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)

    started = datetime.now().astimezone()
    sections: list[tuple[str, int, str, float]] = []
    key: list[str] = []
    for store in stores:
        rj, hj = RESULTS / f"rebuild-{store}.json", RESULTS / f"http-{store}.json"
        for p in (rj, hj):
            p.unlink(missing_ok=True)
        cmd = ["--tickets", str(args.rebuild_tickets), "--store", store, "--json", str(rj)]
        print(f"running bench.rebuild {' '.join(cmd)} ...", file=sys.stderr)
        code, out, secs = run("bench.rebuild", cmd)
        sections.append((f"bench.rebuild {' '.join(cmd[:4])}", code, out, secs))
        cmd = ["--tickets", str(args.http_tickets), "--clients", "1,8", "--store", store, "--json", str(hj)]
        print(f"running bench.http_commands {' '.join(cmd)} ...", file=sys.stderr)
        code, out, secs = run("bench.http_commands", cmd)
        sections.append((f"bench.http_commands {' '.join(cmd[:6])}", code, out, secs))
        key += key_rows(store, load(rj), load(hj))
    if not args.skip_encoding:
        print("running bench.encoding --n 1000 ...", file=sys.stderr)
        code, out, secs = run("bench.encoding", ["--n", "1000"])
        sections.append(("bench.encoding --n 1000", code, out, secs))

    md = [
        "# opsledger benchmarks",
        "",
        f"{started:%Y-%m-%d %H:%M %z}; code {source_state()}; Python {platform.python_version()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs); load average now {os.getloadavg()[0]:.2f}.",
        "Every figure is measured against a baseline measured in the same run (see bench/README.md).",
        "",
        "## Key figures",
        "",
        "| benchmark | store | figure | opsledger | baseline | opsledger / baseline | target |",
        "|---|---|---|---:|---:|---:|---|",
        *key,
        "",
    ]
    for title, code, out, secs in sections:
        status = "" if code == 0 else f" — exit {code}"
        md += [f"## `python -m {title}` ({secs:.0f} s){status}", "", "```", out.rstrip(), "```", ""]
    text = "\n".join(md)
    (RESULTS / "summary.md").write_text(text)
    print(text)
    print(f"\nwritten to {RESULTS / 'summary.md'}", file=sys.stderr)
    return 0 if all(code == 0 for _, code, _, _ in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
