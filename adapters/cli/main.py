"""The ``opsledger`` command: serve, demo, projections status|rebuild|run, sla-watch, backup, restore,
report, audit, user, mail-poll, mail-quarantine."""

from __future__ import annotations

import argparse
from dataclasses import replace
import sys
from collections.abc import Sequence
from typing import Any

from adapters.inputs.numbers import whole_argument
from adapters.settings import Settings, SettingsError


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        database_url=getattr(args, "database", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from adapters.container import build
    from adapters.http.app import create_app
    from adapters.serve.corked import CorkedHttpToolsProtocol
    from adapters.serve.first_run import first_run_notice
    from adapters.serve.heap import freeze_startup_heap
    from adapters.cli.logging import configure_logging

    settings = _settings(args)
    if args.workers is not None:
        settings = replace(settings, workers=args.workers)
    if args.smtp or args.lmtp:  # ADR 0057
        settings = replace(settings, smtp_listen=args.smtp or settings.smtp_listen,
                           lmtp_listen=args.lmtp or settings.lmtp_listen)
    configure_logging(settings.log_level, settings.log_json)
    # Hand the GIL over more often than every 5 ms: a worker holding a short lock (a number
    # sequence, the SQLite writer) then gets it back sooner, which cuts tail latency (ADR 0012).
    sys.setswitchinterval(settings.gil_switch_seconds)
    if args.http_worker_of is not None or settings.workers > 1:  # ADR 0039
        from adapters.serve import workers as serve_workers

        if args.http_worker_of is not None:
            return serve_workers.run_http_worker(args, settings)
        command = [sys.executable, "-m", "adapters.cli.main", "serve", "--database", settings.database_url]
        if not args.projections:
            command.append("--no-projections")
        return serve_workers.supervise(args, settings, settings.workers, command)
    services = build(settings)
    # Catch the read models up before taking traffic, then keep them following -- in a
    # supervised child process (ADR 0038: the server is GIL-bound and the worker gets the other
    # core; by default on PostgreSQL, where that measured faster) or in a thread here (SQLite by
    # default, ``--projections-in-process``, the memory store) -- unless a separate ``opsledger
    # projections run`` worker keeps them (``--no-projections``, docs/scaling.md, ADR 0025). A
    # failing view (a broken plug-in, say) is isolated and retried; it does not stop the service.
    worker = None
    kind = settings.database.kind
    in_child = settings.projections_process if settings.projections_process is not None else (
        kind == "postgres")
    if args.projections:
        services.runner.catch_up_all()
        if in_child and not args.in_process and kind != "memory":
            from adapters.serve.worker_process import ProjectionWorker, RemoteWatch, apply_report

            watch = RemoteWatch(settings.sla_watch_seconds)
            services.watch_thread = watch  # type: ignore[assignment]  # /healthz shows the worker's
            worker = ProjectionWorker(settings.database_url, lambda report: apply_report(
                report, services.runner, watch, services.notifier))
            services.desk.after_save.append(lambda _position: worker.wake())
    app = create_app(services, run_projections=args.projections and worker is None)
    from adapters.mail.smtp import gateway_for

    gateway = gateway_for(services)  # the fault mailbox's listener (ADR 0057), if asked for
    notice = first_run_notice(services, f"http://{settings.host}:{settings.port}/")
    where = ("" if args.projections and worker is None
             else ", read models kept by a projections worker process" if worker
             else ", read models kept by a projections worker")
    print(
        f"opsledger serving on http://{settings.host}:{settings.port}  "
        f"(store: {settings.database.kind}, docs: /docs, OpenAPI: /schema/openapi.json{where})",
        file=sys.stderr,
    )
    if notice is not None:
        print(notice, file=sys.stderr)
    freeze_startup_heap()  # ADR 0054: the long-lived heap out of the collector's walks
    try:
        if worker is not None:
            worker.start()
        if gateway is not None:
            print(f"opsledger mail intake: {gateway.start().describe()}", file=sys.stderr)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    access_log=False, timeout_graceful_shutdown=5,
                    http=CorkedHttpToolsProtocol)  # one write per answer (ADR 0041)
    finally:
        if gateway is not None:
            gateway.stop()
        if worker is not None:
            worker.stop()
        services.close()
    return 0


def cmd_projections(args: argparse.Namespace) -> int:
    if args.action == "run" and args.parent_pipe:
        from adapters.serve.worker_process import die_with_parent

        die_with_parent(args.parent_pipe)  # serve's child (ADR 0038): never outlive it
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from adapters.container import build

    settings = _settings(args)
    services = build(settings)
    console = Console(stderr=True)
    try:
        if args.action == "run":
            return _run_worker(services, parent_pipe=args.parent_pipe is not None,
                               status_fd=args.status_fd)
        if args.action == "status":
            table = Table("projection", "position", "head", "lag", "healthy", "last error")
            rows = services.runner.status()
            for row in rows:
                name = row["name"] + (" (plug-in)" if row.get("plugin") else "")
                table.add_row(name, str(row["position"]), str(row["head"]), str(row["lag"]),
                              "yes" if row["healthy"] else "no", row["last_error"] or "")
            Console(width=200).print(table)
            return 0 if all(row["healthy"] for row in rows) else 1
        names = [args.name] if args.name else list(services.runner.views)
        unknown = [n for n in names if n not in services.runner.views]
        if unknown:
            console.print(f"unknown projection {unknown[0]!r}; known: {', '.join(services.runner.views)}")
            return 2
        # One pass over the log for every view that can be rebuilt in bulk, beside the live
        # ones (ADR 0068); the others, or with --each every view, one after the other.
        from adapters.runners.bulk import bulk_capable

        bulk = [n for n in names if bulk_capable(services.runner.views[n])] if not args.each else []
        groups: list[list[str]] = ([bulk] if bulk else []) + [[n] for n in names if n not in bulk]
        failed = False
        for group in groups:
            label = ", ".join(group)
            title = f"{len(group)} views" if len(group) > 1 else label
            with Progress(
                TextColumn(f"rebuild {title}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} events/s"), TimeRemainingColumn(), console=console,
            ) as progress:
                task = progress.add_task(label, total=max(services.desk.max_position(), 1), rate="-")
                import time

                began = time.perf_counter()

                def report(position: int, target: int) -> None:
                    elapsed = max(time.perf_counter() - began, 1e-9)
                    progress.update(task, completed=position, total=max(target, 1),
                                    rate=f"{position / elapsed:,.0f}")

                try:
                    done = services.runner.rebuild_many(group, report)
                except Exception as e:  # a broken plug-in: say so, rebuild the others
                    failed = True
                    console.print(f"{label}: rebuild failed: {type(e).__name__}: {e}")
                    continue
            count, seconds = next(iter(done.values()))
            processes = len({services.runner.rebuilt_by.get(n) for n in group})
            how = ((" (one pass, built beside the live views and swapped in)" if processes == 1
                    else f" ({processes} processes, each one pass over the log for its views, "
                         "built beside the live views and swapped in; ADR 0077)")
                   if group is bulk else "")
            console.print(
                f"{label}: {count} notifications in {seconds:.2f} s "
                f"({count / max(seconds, 1e-9):,.0f} events/s){how}"
            )
        return 1 if failed else 0
    finally:
        services.close()


def _run_worker(services: Any, *, parent_pipe: bool = False, status_fd: int | None = None) -> int:
    """``projections run``: the projection runner and the SLA watcher (with its notifier) as
    a process of their own, beside ``serve --no-projections`` processes (ADR 0025), or as the
    child of one ``serve`` (``--parent-pipe``: standard input is a pipe from it; a byte wakes
    the runner, end-of-file means the server is gone, ADR 0038). Stops on SIGTERM or Ctrl-C."""
    import signal
    import threading

    from adapters.cli.logging import configure_logging

    settings = services.settings
    configure_logging(settings.log_level, settings.log_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if parent_pipe:
        from adapters.serve.worker_process import watch_parent

        watch_parent(sys.stdin.fileno(), services.runner.wake)
    if status_fd is not None:
        from adapters.serve.worker_process import report_status

        report_status(status_fd, services)  # /healthz of the serve that started this worker
    # Failing views (a broken plug-in) are isolated and retried with the runner's backoff.
    services.runner.catch_up_all()
    services.notifier.start()
    services.runner.start()
    if settings.sla_watch_seconds > 0:
        services.watch_thread.start()
    print(f"opsledger projections run: {', '.join(services.runner.views)}; SLA watch every "
          f"{settings.sla_watch_seconds or 'never'} s (store: {settings.database.kind})", file=sys.stderr)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    return 0


def cmd_sla_watch(args: argparse.Namespace) -> int:
    """The SLA watcher as its own process (ADR 0016): ``--once`` runs one tick and exits."""
    import json
    import signal
    import threading

    from adapters.container import build
    from adapters.cli.logging import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_json)
    services = build(settings)
    try:
        if args.once:
            counts = services.watcher.tick()
            services.notifier.drain()
            print(json.dumps({**counts.as_dict(), "notify": services.notifier.status()}))
            return 1 if counts.failed else 0
        services.notifier.start()
        services.runner.start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        seconds = args.seconds or settings.sla_watch_seconds or 15.0
        print(f"opsledger sla-watch every {seconds} s (store: {settings.database.kind})",
              file=sys.stderr)
        try:
            while not stop.is_set():
                services.watcher.tick()
                stop.wait(seconds)
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        services.close()


def cmd_backup(args: argparse.Namespace) -> int:
    """``backup PATH`` / ``restore PATH`` (ADR 0023), with a progress bar on stderr and a JSON
    summary (events, head position, log digest) on stdout."""
    import json
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from adapters.ops import backup

    settings = _settings(args)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        tasks: dict[str, object] = {}

        said = [0.0]

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=max(total, 1))
            bar.update(tasks[phase], completed=done, total=max(total, done, 1))  # type: ignore[arg-type]
            # Not a terminal (a log, cron): a plain line every 2 s instead of the bar.
            now = time.monotonic()
            if not console.is_terminal and now - said[0] >= 2.0:
                said[0] = now
                print(f"opsledger {args.command}: {phase} {done}/{max(total, done)}", file=sys.stderr, flush=True)

        try:
            run = backup.backup if args.command == "backup" else backup.restore
            summary = run(settings, args.path, report)
        except backup.BackupError as e:
            console.print(f"opsledger {args.command}: {e}")
            return 1
    print(json.dumps({args.command: summary.as_dict()}))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Prints a project's service report (ADR 0029); 2 on bad input, 1 for an unknown project."""
    from datetime import datetime

    from adapters.container import build
    from adapters.render.report import RENDERERS
    from application.errors import RecordNotFound
    from application.reports import ReportBuilder
    from domain.errors import InvalidCommand
    from projections.base import TrackingConflict

    try:
        as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        print("opsledger: --as-of must be an ISO 8601 time with an offset", file=sys.stderr)
        return 2
    services = build(_settings(args))
    try:
        for view in (services.tickets, services.changes):
            try:
                services.runner.catch_up(view)
            except TrackingConflict:
                pass  # a running server moved it on at the same time: it is up to date
        report = ReportBuilder(services.desk, services.tickets, services.changes).build(
            args.project, args.period, as_of)
    except InvalidCommand as e:
        print("opsledger: " + "; ".join(f"{x.field}: {x.message}" for x in e.errors),
              file=sys.stderr)
        return 2
    except RecordNotFound as e:
        print(f"opsledger: {e}", file=sys.stderr)
        return 1
    finally:
        services.close()
    sys.stdout.write(RENDERERS[args.format](report))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from adapters.demo.run import run_demo

    return run_demo(_settings(args), tickets=args.tickets, seed=args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def db_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database", help="store URL (default: $OPSLEDGER_DATABASE_URL or sqlite:///./var/opsledger.sqlite3)")

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=whole_argument(high=65535))
    serve.add_argument("--no-projections", dest="projections", action="store_false",
                       help="leave the read models and the SLA watcher to `opsledger projections run`")
    serve.add_argument("--projections-in-process", dest="in_process", action="store_true",
                       help="keep the read models and the SLA watcher in a thread of this process "
                            "instead of a supervised child process (ADR 0038)")
    serve.add_argument("--workers", type=whole_argument(low=1, high=64), metavar="N",
                       help="HTTP worker processes on the one port (default: $OPSLEDGER_WORKERS or 1; "
                            "ADR 0039, docs/scaling.md)")
    serve.add_argument("--smtp", metavar="HOST:PORT",
                       help="the fault mailbox's SMTP listener (default: $OPSLEDGER_SMTP_LISTEN, "
                            "off; ADR 0057)")
    serve.add_argument("--lmtp", metavar="HOST:PORT",
                       help="an LMTP listener for the MTA (default: $OPSLEDGER_LMTP_LISTEN, off)")
    # one of serve --workers N's HTTP workers (ADR 0039): the supervisor's PID and inherited fds
    serve.add_argument("--http-worker-of", type=int, metavar="PID", help=argparse.SUPPRESS)
    serve.add_argument("--channel-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--wake-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--report-fd", type=int, help=argparse.SUPPRESS)
    db_arg(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="fill a store with a realistic data set")
    demo.add_argument("--tickets", type=whole_argument(), default=300)
    demo.add_argument("--seed", type=whole_argument(), default=7)
    db_arg(demo)
    demo.set_defaults(func=cmd_demo)

    proj = sub.add_parser("projections", help="read model status and rebuilds")
    proj.add_argument("action", choices=["status", "rebuild", "run"],
                      help="run: keep the read models and the SLA watcher going (a worker process)")
    proj.add_argument("name", nargs="?")
    proj.add_argument("--each", action="store_true",
                      help="rebuild: one view after the other, each from the whole log, in place "
                           "(default: one pass for all the views that can be rebuilt in bulk, "
                           "beside the live ones; ADR 0068)")
    # serve's worker (ADR 0038): standard input is a pipe from serve, whose PID this is
    proj.add_argument("--parent-pipe", type=int, metavar="PID", help=argparse.SUPPRESS)
    proj.add_argument("--status-fd", type=int, help=argparse.SUPPRESS)  # reports to that serve
    db_arg(proj)
    proj.set_defaults(func=cmd_projections)

    watch = sub.add_parser("sla-watch", help="record SLA warnings, breaches and escalations")
    watch.add_argument("--once", action="store_true", help="one tick, then exit")
    watch.add_argument("--seconds", type=float, help="interval (default $OPSLEDGER_SLA_WATCH_SECONDS or 15)")
    db_arg(watch)
    watch.set_defaults(func=cmd_sla_watch)

    for name, text in (("backup", "write an online, consistent backup of the store to PATH"),
                       ("restore", "restore the backup at PATH into an empty store")):
        p = sub.add_parser(name, help=text)
        p.add_argument("path", metavar="PATH")
        db_arg(p)
        p.set_defaults(func=cmd_backup)
    report = sub.add_parser("report", help="print a project's service report")
    report.add_argument("project", help="project id or number (PRJ-…)")
    report.add_argument("period", help="2026-11 (month), 2026-Q4 (quarter) or 2026 (year)")
    report.add_argument("--format", choices=["md", "json", "html"], default="md")
    report.add_argument("--as-of", help="the report as produced at this recorded time (ISO 8601)")
    db_arg(report)
    report.set_defaults(func=cmd_report)

    from adapters.cli import audit as audit_cli

    audit_cli.add_parser(sub, db_arg)
    from adapters.cli import users as users_cli

    users_cli.add_parser(sub, db_arg)
    from adapters.cli import mail as mail_cli

    mail_cli.add_parser(sub, db_arg)
    from adapters.cli import quarantine as quarantine_cli

    quarantine_cli.add_parser(sub, db_arg)
    from adapters.cli import cis as cis_cli  # ADR 0063

    cis_cli.add_parser(sub, db_arg)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as e:
        print(f"opsledger: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
