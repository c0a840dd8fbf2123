"""``opsledger audit verify|head|check-head|export|replay|seal|keygen`` (docs/audit.md).

Exit codes: 0 good, 1 the chain (or a head, or a bundle) does not check out, 2 bad input.
Progress goes to stderr: a rich bar on a terminal, plain lines otherwise; results to stdout.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.inputs.numbers import whole_argument
from adapters.settings import Settings

Progress = Callable[[int, int], None]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "database", None))


@contextmanager
def _progress(label: str, total: int) -> Iterator[Progress]:
    """``report(events, position)``: a rich bar (events done of ``total``, events/s, time left)
    when stderr is a terminal, else a plain line every ~2 s with the same figures -- logs and
    CI keep a readable record either way. ``total`` 0: unknown (no bar length, no ETA)."""
    began = time.perf_counter()
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]} events/s"), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=total or None, rate="-")

            def fancy(events: int, position: int) -> None:
                rate = events / max(time.perf_counter() - began, 1e-9)
                bar.update(task, completed=events, rate=f"{rate:,.0f}")

            yield fancy
        return
    last = [began]

    def plain(events: int, position: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 2.0:
            last[0] = now
            rate = events / max(now - began, 1e-9)
            eta = (f", {max(total - events, 0) / rate:,.0f} s left" if total and rate > 0
                   else "")
            print(f"{label}: {events:,}{f'/{total:,}' if total else ''} events, position "
                  f"{position}, {rate:,.0f} events/s{eta}", file=sys.stderr)

    yield plain


def _done(verdict: Any, seconds: float, files: dict[str, Any] | None = None) -> int:
    out = verdict.as_dict()
    if files is not None:
        out["files"] = files
    print(json.dumps(out))
    rate = verdict.events / max(seconds, 1e-9)
    print(f"{'ok' if verdict.ok else 'BROKEN'}: {verdict.events} events in {seconds:.2f} s "
          f"({rate:,.0f} events/s)", file=sys.stderr)
    return 0 if verdict.ok else 1


def _bundle_size(lines: Any) -> int:
    """About how many events a bundle holds (its header's last position less its anchor's),
    for the progress bar; the file is left at its start. 0 when the header does not say."""
    try:
        header = json.loads(lines.readline())
        total = int(header["last_position"]) - int(header["anchor"]["position"])
    except (ValueError, KeyError, TypeError):
        total = 0
    lines.seek(0)
    return max(total, 0)


def cmd_verify(args: argparse.Namespace) -> int:
    from adapters.audit.bundle import verify_bundle_file
    from adapters.audit.chain import public_key, verify_store
    from adapters.audit.scan import default_processes

    began = time.perf_counter()
    if args.bundle:
        trusted = public_key(args.public_key) if args.public_key else None
        path = Path(args.bundle)
        with path.open("rb") as lines:
            total = _bundle_size(lines)
        processes = args.processes or default_processes(0, total)
        with _progress("verify bundle", total) as p:
            verdict, signed = verify_bundle_file(path, trusted, progress=p, processes=processes)
        print(f"bundle: {signed}", file=sys.stderr)
        return _done(verdict, time.perf_counter() - began)
    from adapters.audit.store import ChainStore
    from adapters.container import build

    services = build(_settings(args))
    files = None
    try:
        recorder = services.desk.recorder
        began = time.perf_counter()  # the check itself, not opening the store
        total = max(max(ChainStore(recorder).bounds()) - max((args.from_ or 1) - 1, 0), 0)
        processes = args.processes or default_processes(0, total)
        with _progress("verify", total) as p:
            verdict = verify_store(recorder, start=args.from_ or 0, anchor=args.anchor,
                                   progress=p, processes=processes)
        if args.files:  # each file's bytes against its Uploaded event's SHA-256 (ADR 0056)
            from application.attachments import verify_files

            files = verify_files(services.desk, services.blobs)
    finally:
        services.close()
    code = _done(verdict, time.perf_counter() - began, files)
    return 1 if files is not None and not files["ok"] else code


def cmd_head(args: argparse.Namespace) -> int:
    from adapters.audit.chain import head_document, signing_key, verify_store
    from adapters.container import build

    settings = _settings(args)
    key = signing_key(settings.audit_signing_key)
    services = build(settings)
    try:
        verdict = verify_store(services.desk.recorder)
        kind = services.settings.database.kind
    finally:
        services.close()
    if not verdict.ok:
        print(f"opsledger: the chain is broken at position {verdict.first_bad_position}; "
              "not publishing a head", file=sys.stderr)
        return 1
    print(json.dumps(head_document(verdict.position, verdict.head, kind, key)))
    return 0


def cmd_check_head(args: argparse.Namespace) -> int:
    from adapters.audit.chain import check_head, public_key
    from adapters.container import build

    doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    trusted = public_key(args.public_key) if args.public_key else None
    services = build(_settings(args))
    try:
        ok, message = check_head(services.desk.recorder, doc, trusted)
    finally:
        services.close()
    print(("ok: " if ok else "REWRITTEN: ") + message)
    return 0 if ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from adapters.audit.chain import signing_key
    from adapters.audit.bundle import export
    from adapters.container import build

    settings = _settings(args)
    key = signing_key(settings.audit_signing_key)
    services = build(settings)
    try:
        trailer = export(services.desk.recorder, sys.stdout, since=args.since or 0, key=key)
    finally:
        services.close()
    print(f"exported {trailer['events']} events, head {trailer['position']}:{trailer['head']}",
          file=sys.stderr)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from adapters.audit.replay import replay
    from adapters.render.report import RENDERERS

    from contextlib import redirect_stdout

    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    project, period = args.report or (None, None)
    with redirect_stdout(sys.stderr):  # what the rebuild logs is not the report on stdout
        result = replay(Path(args.bundle), _settings(args), project=project, period=period,
                        as_of=as_of, steps=_progress, processes=args.processes)
    c = result.compliance
    print(f"replayed {result.events} events, head {result.position}:{result.head}",
          file=sys.stderr)
    if result.seconds:
        print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in result.seconds.items()),
              file=sys.stderr)
    print(f"SLA compliance (all tickets reported up to {c.now.isoformat()}): "
          f"{c.total.tickets} tickets; response met {c.total.response_met}, missed "
          f"{c.total.response_missed} ({c.total.response_met_pct}%); resolution met "
          f"{c.total.resolution_met}, missed {c.total.resolution_missed} "
          f"({c.total.resolution_met_pct}%)", file=sys.stderr)
    if result.report is not None:
        sys.stdout.write(RENDERERS[args.format](result.report))
    return 0


def cmd_seal(args: argparse.Namespace) -> int:
    from adapters.audit.store import seal
    from adapters.container import build

    services = build(_settings(args))
    try:
        added = seal(services.desk.recorder)
    finally:
        services.close()
    print(f"sealed {added} events that had no chain row")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from adapters.audit.chain import raw_public

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    print(json.dumps({"private_key": base64.b64encode(raw).decode(),
                      "public_key": raw_public(key.public_key())}))
    return 0


def run(args: argparse.Namespace) -> int:
    from adapters.audit.chain import AuditError
    from application.errors import RecordNotFound
    from domain.errors import InvalidCommand

    try:
        return int(args.audit_func(args))
    except (AuditError, OSError, ValueError, InvalidCommand, RecordNotFound) as e:
        text = ("; ".join(f"{x.field}: {x.message}" for x in e.errors)
                if isinstance(e, InvalidCommand) else str(e))
        print(f"opsledger: {text}", file=sys.stderr)
        return 1 if isinstance(e, RecordNotFound) else 2


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Registers ``opsledger audit ...`` on the main parser's subcommands."""
    audit = sub.add_parser("audit", help="tamper evidence: verify, heads, bundles, replay")
    audit.set_defaults(func=run)
    actions = audit.add_subparsers(dest="action", required=True)

    def action(name: str, fn: Callable[[argparse.Namespace], int], text: str,
               db: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=text)
        p.set_defaults(audit_func=fn)
        if db:
            db_arg(p)
        return p

    verify = action("verify", cmd_verify, "recompute the hash chain (exit 1 when broken)")
    verify.add_argument("--bundle", help="check this bundle file alone (no database)")
    verify.add_argument("--public-key", help="with --bundle: the signer's key (base64 or PEM path)")
    verify.add_argument("--from", dest="from_", type=whole_argument(low=1),
                        help="start at this position, "
                        "trusting the chain row before it")
    verify.add_argument("--anchor", help="with --from: the hash you trust before that position")
    verify.add_argument("--processes", type=whole_argument(low=1),
                        help="check the range in this many segments at once, each in a process "
                        "of its own (default: 2 on a big range when there are 2 cores, else 1)")
    verify.add_argument("--files", action="store_true",
                        help="also check every uploaded file's bytes against the SHA-256 its "
                        "event records (exit 1 when one is altered or missing)")
    action("head", cmd_head, "print the chain head (signed with $OPSLEDGER_AUDIT_SIGNING_KEY)")
    check = action("check-head", cmd_check_head, "check that the store still holds a published head")
    check.add_argument("file", help="a head printed by 'opsledger audit head'")
    check.add_argument("--public-key", help="the publisher's key (base64 or PEM path)")
    export = action("export", cmd_export, "write an audit bundle (JSON lines) to stdout")
    export.add_argument("--since", type=whole_argument(),
                        help="events from this position on (default: all)")
    replay = action("replay", cmd_replay, "rebuild read models and reports from a bundle alone",
                    db=False)
    replay.add_argument("--bundle", required=True)
    replay.add_argument("--report", nargs=2, metavar=("PROJECT", "PERIOD"))
    replay.add_argument("--as-of", help="the report as of this recorded time (ISO 8601)")
    replay.add_argument("--format", choices=["md", "json", "html"], default="md")
    replay.add_argument("--processes", type=whole_argument(low=1),
                        help="1: verify, load and check one after the other in this process "
                        "(default: the load and the checks beside each other on 2 cores)")
    action("seal", cmd_seal, "chain the events that have no chain row yet (an operator act)")
    action("keygen", cmd_keygen, "print a new Ed25519 key pair (base64 raw)", db=False)
