"""Small helpers shared by the benchmarks: the command line, the PostgreSQL server and the clean-up
of a run, its tables, what code was measured, and how busy the machine was."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("domain", "application", "adapters", "projections")
T = TypeVar("T")


def source_state() -> str:
    """``<commit>`` or ``<commit>+dirty:<hash of the uncommitted product diff>``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", *PRODUCT], cwd=ROOT, capture_output=True,
                              check=True).stdout
        untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--", *PRODUCT],
                                   cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    if not diff and not untracked:
        return commit
    h = hashlib.sha256(diff)
    for name in sorted(untracked):
        h.update(name.encode())
        h.update((ROOT / name).read_bytes())
    return f"{commit}+uncommitted product changes (sha256 {h.hexdigest()[:10]})"


def load_average() -> float:
    return os.getloadavg()[0]


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so ``finally`` blocks stop servers and remove temp dirs."""
    import signal

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def write_json(path: Path | None, data: Any) -> None:
    """Write a benchmark's figures (``--json``) for ``python -m bench``'s summary; None: skip."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def bench_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """The command line of ``python -m <module>`` (described by the first line of ``doc``), with
    the options every single-store benchmark takes: ``--store`` and ``--pg-url``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (needs CREATEDB); default: start a private one")
    return parser


def stores_parser(module: str, doc: str | None, samples: int) -> argparse.ArgumentParser:
    """The command line of ``python -m <module>`` for a benchmark run on each of several stores
    in turn (``--stores``): the options they all take; a benchmark adds its own, then calls
    ``add_output_options``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (needs CREATEDB); default: a private one")
    parser.add_argument("--samples", type=int, default=samples, help="timed rounds (each route once a round)")
    return parser


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--dir`` and ``--json``, the last options of a ``stores_parser``."""
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes encoding events")
    parser.add_argument("--dir", type=Path, help="where the SQLite file goes (default a temp dir; removed)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")


def each_store(bench: str, args: Any, run_store: Callable[[str, Any, Path], T | None],
               report: Callable[[T], None]) -> list[T]:
    """Runs ``run_store`` on each of ``--stores`` in a fresh temporary directory and reports
    each result (a store it skipped gives None), between the lines naming the code measured
    and the machine's load; the results."""
    stop_on_sigterm()
    print(f"code: {source_state()}; load average at start {load_average():.2f} ({os.cpu_count()} CPUs)")
    print()
    results = []
    for kind in [s.strip() for s in args.stores.split(",") if s.strip()]:
        tmp = Path(tempfile.mkdtemp(prefix=f"opsledger-bench-{bench}-{kind}-", dir=args.dir))
        result = run_store(kind, args, tmp)
        if result is not None:
            report(result)
            results.append(result)
    print(f"load average at end {load_average():.2f}")
    return results


@dataclass
class FilledStore:
    """What a benchmark over several stores reports of each store before it measures: the
    tickets and events written, and the seconds to write them and for the views to catch up."""

    store: str
    tickets: int
    events: int
    fill_s: float
    catch_up_s: float


def print_header(header: str) -> None:
    """A table's header line and a rule as wide under it."""
    print(header)
    print("-" * len(header))


class BenchPostgres:
    """The PostgreSQL server of a run: the one at ``--pg-url``, or a private one from the test
    harness, and the databases made on it (``database``); ``close`` drops them from an external
    server (a private one goes away with its data) and stops the server."""

    def __init__(self, pg_url: str | None) -> None:
        from tests.support import postgres as pg  # the test harness: a private PostgreSQL 15

        self.pg = pg
        self.server = pg.PostgresServer(url=pg_url)
        self.base = self.server.start()
        self.created: list[str] = []

    def database(self, hint: str) -> str:
        """A fresh database named after ``hint``; its URL."""
        name = self.pg.unique_database_name(hint)
        url = self.pg.create_database(self.base, name)
        self.created.append(name)
        return url

    def close(self) -> None:
        if self.server.is_external:
            for name in self.created:
                with contextlib.suppress(Exception):
                    self.pg.drop_database(self.base, name)
        self.server.stop()


def postgres_or_skip(make: Callable[[], T]) -> T | None:
    """``make()``, a store on PostgreSQL, or None with the reason printed when PostgreSQL
    cannot be had (no test harness and no ``--pg-url``, or no server): the run skips it."""
    try:
        return make()
    except ImportError as e:
        print(f"skipping postgres: the test harness tests.support.postgres is missing ({e}) "
              "and no --pg-url was given", file=sys.stderr)
    except Exception as e:
        print(f"skipping postgres: {type(e).__name__}: {e}", file=sys.stderr)
    return None


def clean_up(tmp: Path, *opened: Any) -> None:
    """The end of a run: closes what it opened, in the order given (``None``: never opened),
    then removes its temporary directory."""
    for thing in opened:
        if thing is not None:
            thing.close()
    shutil.rmtree(tmp, ignore_errors=True)
