"""``opsledger cis import FILE [--apply]``: an existing inventory (CSV or XLSX) into
configuration items (ADR 0063), the same reader and checks as ``POST /api/v1/cis/import``.

Without ``--apply`` it previews: every row checked, the per-row errors printed (``row N,
column: message``), nothing saved. With ``--apply`` and no errors the valid rows are
registered in batches (a progress bar on standard error) and the count printed. Exit codes:
0 done (or a clean preview), 1 rows with errors (nothing saved), 2 an unreadable file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.settings import Settings

SHOWN_ERRORS = 50


def cmd_cis_import(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from adapters.container import build
    from adapters.inputs.inventory import UnreadableFile, read_rows
    from application import ci_import

    path = Path(args.file)
    try:
        rows = read_rows(path.name, path.read_bytes())
    except (OSError, UnreadableFile) as e:
        print(f"opsledger: {path}: {e}", file=sys.stderr)
        return 2
    settings = Settings.from_env(database_url=args.database)
    preview = ci_import.check(rows, settings.ci_classes)
    print(f"{preview.total} rows: {len(preview.valid)} valid, {len(preview.errors)} errors")
    for e in preview.errors[:SHOWN_ERRORS]:
        print(f"  row {e.row}, {e.field}: {e.message}")
    if len(preview.errors) > SHOWN_ERRORS:
        print(f"  … and {len(preview.errors) - SHOWN_ERRORS} more")
    if preview.errors:
        print("nothing imported: correct the rows and run again", file=sys.stderr)
        return 1
    if not args.apply:
        print("preview only: run again with --apply to import", file=sys.stderr)
        return 0
    services = build(settings)
    try:
        with Progress(TextColumn("importing CIs"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=False, console=None) as bar:
            task = bar.add_task("import", total=len(preview.valid))
            numbers = ci_import.apply(services.desk, preview, args.actor, settings.ci_classes,
                                      progress=lambda n: bar.advance(task, n))
    finally:
        services.close()
    first, last = (numbers[0], numbers[-1]) if numbers else ("-", "-")
    print(f"imported {len(numbers)} configuration items ({first} … {last})")
    return 0


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Registers ``opsledger cis`` on the main parser's subcommands."""
    cis = sub.add_parser("cis", help="configuration items: import an inventory (CSV/XLSX)")
    actions = cis.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="preview (and with --apply import) a CSV or XLSX "
                                            "inventory, with per-row errors")
    imp.add_argument("file", help="a .csv or .xlsx file; first row: the column names")
    imp.add_argument("--apply", action="store_true", help="import (default: preview only)")
    imp.add_argument("--actor", default="import", help="who the events name (default: import)")
    db_arg(imp)
    imp.set_defaults(func=cmd_cis_import)
