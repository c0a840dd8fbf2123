"""Building the HTTP app (ADR 0076): ``create_app`` with the route map kept, beside Litestar's own.

    PYTHONPATH=. .venv/bin/python -m bench.app_build [--builds 20]

Every process builds the app once (the server, each HTTP worker) and every in-process test
builds one. This builds it ``--builds`` times over one memory store with
``adapters.http.speed.route_map.RouteMapKeptLitestar`` (what ``create_app`` uses) and as many
times with plain ``litestar.Litestar`` in its place (the baseline, Litestar making its route map
afresh at each handler's registration), alternating, gc collected before each build; it prints
the median CPU and wall ms per build of each, their ratio, and checks that both apps have the
same routes.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Sequence

from litestar import Litestar

import adapters.http.app as app_module
from adapters.container import build
from adapters.http.speed.route_map import RouteMapKeptLitestar
from adapters.settings import Settings
from bench.common import load_average, source_state


def routes(app: Litestar) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((r.path, tuple(sorted(r.methods))) for r in app.routes)  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_build", description=__doc__.split("\n")[0])
    parser.add_argument("--builds", type=int, default=20, help="builds of each kind (alternated)")
    args = parser.parse_args(argv)
    services = build(Settings(database_url="memory://"))
    print(f"create_app, {args.builds} builds each, alternating; code {source_state()}; "
          f"load average {load_average():.2f}")
    times: dict[str, list[tuple[float, float]]] = {"Litestar": [], "RouteMapKeptLitestar": []}
    shapes = {}
    try:
        app_module.create_app(services)  # imports and first-build work, untimed
        for _ in range(args.builds):
            for name, cls in (("Litestar", Litestar), ("RouteMapKeptLitestar", RouteMapKeptLitestar)):
                app_module.RouteMapKeptLitestar = cls  # type: ignore[misc]
                gc.collect()
                cpu, wall = time.process_time(), time.perf_counter()
                app = app_module.create_app(services)
                times[name].append((time.process_time() - cpu, time.perf_counter() - wall))
                shapes[name] = routes(app)
    finally:
        app_module.RouteMapKeptLitestar = RouteMapKeptLitestar  # type: ignore[misc]
        services.close()
    base_cpu = statistics.median(c for c, _ in times["Litestar"]) * 1000
    base_wall = statistics.median(w for _, w in times["Litestar"]) * 1000
    print(f"{'ms per build (median)':28} {'CPU':>8} {'wall':>8} {'CPU / baseline':>15}")
    for name, runs in times.items():
        cpu = statistics.median(c for c, _ in runs) * 1000
        wall = statistics.median(w for _, w in runs) * 1000
        print(f"{name:28} {cpu:8.1f} {wall:8.1f} {cpu / base_cpu:14.2f}x"
              + ("   (baseline)" if name == "Litestar" else f"   wall {wall / base_wall:.2f}x"))
    same = shapes["Litestar"] == shapes["RouteMapKeptLitestar"]
    print(f"same routes: {same} ({len(shapes['Litestar'])})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
