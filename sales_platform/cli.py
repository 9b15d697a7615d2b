"""The `sales-platform` command."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sales_platform.domain.identifiers import is_store_id, parse_day
from sales_platform.domain.time_zones import DEFAULT_STORE_TIMEZONE
from sales_platform.settings import Settings, SettingsError, load_settings

EPILOG = "Configuration comes from the environment or a .env file; see README.md and .env.example."


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"sales-platform: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=settings.runtime.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _stores(text: str) -> list[str]:
    stores = [part.strip() for part in text.split(",") if part.strip()]
    if not stores or not all(is_store_id(s) for s in stores):
        raise argparse.ArgumentTypeError("stores are four-digit ids separated by commas, e.g. 0001,0002")
    return stores


def _date(text: str) -> dt.date:
    try:
        return parse_day(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# ---------------------------------------------------------------------------------------------
def generate_sample_data(args: argparse.Namespace) -> int:
    from sales_platform.samples.store_files import (
        DEFAULT_OPTIONS,
        SampleOptions,
        default_end_date,
        traffic_scale_for,
        write_sample_files,
    )

    timezone = args.timezone or DEFAULT_STORE_TIMEZONE
    stores = args.stores or _settings().stores.expected_stores
    end_date = args.end_date or default_end_date(timezone)
    options = DEFAULT_OPTIONS
    if args.lines_per_day:
        options = SampleOptions(traffic_scale=traffic_scale_for(args.lines_per_day, stores, seed=args.seed))
    summary = write_sample_files(
        args.out,
        stores=stores,
        days=args.days,
        end_date=end_date,
        seed=args.seed,
        timezone=timezone,
        with_bad_files=args.with_bad_files,
        options=options,
    )
    start = end_date - dt.timedelta(days=args.days - 1)
    print(
        f"wrote {summary.files} files ({summary.lines:,} lines, {summary.transactions:,} transactions, "
        f"{summary.bytes / 1e6:.1f} MB) for {len(stores)} stores from {start} to {end_date} into {args.out}"
    )
    for bad in summary.bad_files:
        print(f"  bad file {bad.path.name}: {bad.reason}")
    return 0


def _run_pass(settings: Settings, command: str, verbose: bool):
    """One pass of the Dagster daemon over what waits; another pass on this home is waited for,
    `sales-platform dev` (whose daemon already does the work) is not."""
    from sales_platform.runtime.daemon_process import start_daemon

    def say(line: str) -> None:
        print(line, flush=True)

    daemon = start_daemon(settings, command, on_busy=lambda holder: holder is None or holder.command != "dev", say=say)
    from sales_platform.runtime.daemon_pass import DaemonPass  # Dagster loads while the daemon starts

    return DaemonPass(settings, command, say=say, verbose=verbose).run(daemon)


def _busy_message(error) -> str:
    holder = error.holder
    if holder is not None and holder.command == "dev":
        return (
            f"{error}: its Dagster daemon already processes what arrives in the inbox (see its UI); "
            "stop it first to run a pass from here"
        )
    return str(error)


def _report(summary, settings: Settings) -> None:
    rows = sum(outcome.rows for outcome in summary.files)
    if not summary.runs and not summary.still_written and not summary.interrupted:
        print(f"nothing to do: no new files in {settings.storage.upload_prefix} and no day due for analysis")
    elif summary.runs:
        print(
            f"{summary.runs} runs in {summary.seconds:.1f} s: {summary.count('processed')} files processed "
            f"({rows:,} lines), {summary.count('refused')} refused, {len(summary.failed)} failed, "
            f"{len(set(summary.analysed))} day(s) analysed, {len(set(summary.reports))} report(s)"
        )
    if summary.count("superseded"):
        print(
            f"{summary.count('superseded')} file(s) superseded by a newer file for the same store and day, unread: "
            f"moved to {settings.storage.rejected_prefix} with a report naming the file used"
        )
    ahead = [outcome for outcome in summary.files if outcome.clock_note]
    if ahead:
        print(
            f"{len(ahead)} file(s) dated in the future: a clock is wrong where they were written, or on this machine; "
            f"each was taken once unchanged for the settle time ({settings.upload_settle_seconds:g} s)"
        )
    if summary.still_written:
        print(
            f"{len(summary.still_written)} file(s) in {settings.storage.upload_prefix} still being written (changing, or held "
            "open by a program); they will be processed on the next pass"
        )
    if any(failure.job_name == "ingest_store_uploads" for failure in summary.failed):
        print(
            f"uploads that could not be processed stay in {settings.storage.upload_prefix}: the next pass (or a running daemon, "
            f"after UPLOAD_RETRY_SECONDS={settings.ingest.upload_retry_seconds}) tries them again; re-executing the run in the "
            "Dagster UI tries at once"
        )
    for problem in summary.sensor_errors:
        print(f"sensor error: {problem}")
    if not summary.ok and summary.log_path:
        print(f"the Dagster daemon's log: {summary.log_path}")
    if summary.interrupted:
        print("interrupted: what was under way is finished by the next pass")


def _exit_code(summary) -> int:
    if summary.interrupted:
        return 130
    return 0 if summary.ok else 1


def _pass_or_exit(settings: Settings, command: str, verbose: bool):
    from sales_platform.runtime.home_lock import HomeBusy

    # Stopped like Ctrl-C, so the daemon and its runs stop with this command.
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.default_int_handler)
    try:
        return _run_pass(settings, command, verbose)
    except HomeBusy as error:
        print(f"sales-platform {command}: {_busy_message(error)}", file=sys.stderr)
        raise SystemExit(3) from None
    except Exception as error:
        from sales_platform.runtime.daemon_pass import PassFailed

        if not isinstance(error, PassFailed):
            raise
        print(f"sales-platform {command}: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def process(args: argparse.Namespace) -> int:
    settings = _settings()
    summary = _pass_or_exit(settings, "process", args.verbose)
    _report(summary, settings)
    return _exit_code(summary)


def demo(args: argparse.Namespace) -> int:
    from sales_platform.resources.factory import build_bucket
    from sales_platform.samples.store_files import default_end_date, write_sample_files

    settings = _settings()
    end_date = args.end_date or default_end_date(settings.stores.daily_analysis_timezone)
    bucket = build_bucket(settings)
    with tempfile.TemporaryDirectory(prefix="sales-platform-sample-") as folder:
        sample = write_sample_files(
            Path(folder),
            stores=settings.stores.expected_stores,
            days=args.days,
            end_date=end_date,
            seed=args.seed,
            timezone=settings.stores.daily_analysis_timezone,
            with_bad_files=not args.no_bad_files,
        )
        paths = sample.paths + [bad.path for bad in sample.bad_files]
        for path in paths:
            bucket.write_file(settings.storage.layout.upload_key(path.name), path)
    print(
        f"dropped {len(paths)} files ({sample.lines:,} good lines, {len(sample.bad_files)} deliberately bad files) "
        f"for {len(settings.stores.expected_stores)} stores x {args.days} days up to {end_date} into "
        f"{bucket.description}/{settings.storage.upload_prefix}",
        flush=True,
    )
    summary = _pass_or_exit(settings, "demo", verbose=False)
    _report(summary, settings)
    layout = settings.storage.layout
    print("\nwhere to look:")
    print(
        f"  bucket        {bucket.description} ({layout.processed_prefix}, {layout.rejected_prefix}, {layout.archive_prefix})"
    )
    print(
        f"  table         {settings.sqlite_path if settings.resolved_table_backend == 'sqlite' else settings.storage.dynamodb_table}"
    )
    print(
        "  analysis      the table's DATE#<day> items: SUMMARY#COMPANY, PRODUCT#<sku>, INSIGHT#...; "
        f"working files under {settings.storage.analysis_prefix}"
    )
    print(
        f"  reports       {settings.storage.reports_prefix} in the bucket; sent on {', '.join(settings.reporting.notify_channels)}"
        + (f" ({settings.outbox_path})" if "outbox" in settings.reporting.notify_channels else "")
    )
    print(f"  BI export     {settings.storage.quicksight_prefix} in the bucket")
    print("  Dagster runs  sales-platform dev, then http://127.0.0.1:3000 (any run can be re-executed there)")
    return _exit_code(summary)


def dev(args: argparse.Namespace) -> int:
    from sales_platform.api.security import is_loopback
    from sales_platform.runtime.home_lock import HomeBusy, HomeLock
    from sales_platform.runtime.local_instance import prepare_dagster_home, workspace_file
    from sales_platform.runtime.process_group import GuardedGroup

    if not (is_loopback(args.host) or args.insecure):
        print(
            f"sales-platform dev: refusing to serve the Dagster UI on {args.host}: it has no login, and anyone who can "
            "reach it can launch, re-execute and delete runs (its GraphQL endpoint too). Keep the default 127.0.0.1 "
            "(from another machine, use an SSH tunnel: ssh -L 3000:127.0.0.1:3000 <host>), or pass --insecure to "
            "serve it, and the REST API, to everyone who can reach that address.",
            file=sys.stderr,
        )
        return 2
    settings = _settings()  # a bad setting stops here, not inside the webserver
    lock = HomeLock(settings.home_path, "dev")
    try:
        lock.acquire()
    except HomeBusy as error:
        print(f"sales-platform dev: {error}; wait for it to finish or stop it", file=sys.stderr)
        return 3
    env = {**os.environ, "SALES_PLATFORM_HOME": str(settings.home_path)}
    env["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    if settings.resolved_storage_backend == "local":
        # The inbox exists before anyone copies a store file into it: `cp f .../uploads/` into a
        # missing folder fails, or without the slash makes a file named `uploads` nobody watches.
        (settings.bucket_path / settings.storage.upload_prefix).mkdir(parents=True, exist_ok=True)
    commands = {
        "Dagster": [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-w",
            str(workspace_file(settings)),
            "--host",
            args.host,
            "--port",
            str(args.port),
            # Every sensor tick would print a dozen lines; runs, ticks and their logs are in the UI.
            "--log-level",
            "warning",
        ],
    }
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops everything)", flush=True)
    if not args.no_api:
        commands["API"] = [
            sys.executable,
            "-m",
            "sales_platform.cli",
            "api",
            "--host",
            args.host,
            "--port",
            str(args.api_port),
            *(["--insecure"] if args.insecure else []),
        ]
    # Each under a guard of its own, which stops everything it started when asked, when this
    # command disappears, or when its program exits.
    children = {
        name: GuardedGroup(command, env=env, keep_fds=[lock.fileno()] if name == "Dagster" else [])
        for name, command in commands.items()
    }
    # Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) all stop everything.
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.default_int_handler)
    try:
        while True:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    # One half alone is not what was asked for (e.g. the API port was taken).
                    print(
                        f"sales-platform dev: {name} exited with {code}; stopping the rest", file=sys.stderr, flush=True
                    )
                    _stop_children(children)
                    return code or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return _stop_children(children)
    finally:
        lock.release()


def _stop_children(children) -> int:
    """0 when everything stopped by itself within the grace period."""
    codes = [child.stop() for child in children.values()]
    return 0 if all(code in (0, -signal.SIGINT, 130) for code in codes) else 1


def _public_url(host: str, port: int) -> str:
    """Where signed local URLs point when PUBLIC_API_URL is not set: the address served, with
    a wildcard bind replaced by loopback (set PUBLIC_API_URL for other machines)."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def api(args: argparse.Namespace) -> int:
    import uvicorn

    from sales_platform.api.app import install_log_redaction
    from sales_platform.api.security import refuse_open_bind
    from sales_platform.api.server import server_options
    from sales_platform.api.url_signing import local_url_signer

    settings = _settings()
    refusal = refuse_open_bind(settings, args.host, args.insecure)
    if refusal:
        print(f"sales-platform api: {refusal}", file=sys.stderr)
        return 2
    try:
        local_url_signer(settings)  # a missing secret stops here, once, not in every worker
    except SettingsError as error:
        print(f"sales-platform api: {error}", file=sys.stderr)
        return 2
    if not settings.api.public_api_url:
        # Read by the workers' own settings: the signed URLs point at this server.
        os.environ["PUBLIC_API_URL"] = _public_url(args.host, args.port) + settings.api.api_path_prefix
    install_log_redaction()
    api_path = settings.api.api_path_prefix
    dashboard = ", the dashboard at /" if settings.api.dashboard_prefix else ""
    print(
        f"API on http://{args.host}:{args.port}{api_path} (docs at {api_path}/docs{dashboard}; Ctrl-C stops it)",
        flush=True,
    )
    uvicorn.run(
        "sales_platform.api.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.runtime.log_level.lower(),
        **server_options(),
    )
    return 0


def send_report(args: argparse.Namespace) -> int:
    from sales_platform.resources.factory import build_bucket, build_notifier
    from sales_platform.services.report_delivery import ReportFolder, ReportNotStored, deliver_report

    settings = _settings()
    folder = ReportFolder(settings.storage.reports_prefix, args.date)
    try:
        outcome = deliver_report(build_bucket(settings), build_notifier(settings), folder, force=args.force)
    except ReportNotStored as error:
        print(f"sales-platform: {error}; the daily_report asset stores it when the day is analysed", file=sys.stderr)
        return 2
    if outcome.status == "unchanged":
        print(f"report for {args.date} {outcome.describe()} (--force sends it anyway)")
        return 0
    print(f"report for {args.date}: {outcome.describe()}")
    return 0 if outcome.status == "sent" else 1


def healthcheck(args: argparse.Namespace) -> int:
    from sales_platform.container_health import run_checks

    if not (args.database or args.http or args.grpc is not None):
        print("sales-platform healthcheck: name at least one of --database, --http URL, --grpc PORT", file=sys.stderr)
        return 2
    problems = run_checks(database=args.database, http=args.http, grpc_port=args.grpc)
    for problem in problems:
        print(f"unhealthy: {problem}", file=sys.stderr)
    if not problems:
        print("healthy")
    return 1 if problems else 0


# ---------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sales-platform",
        description="Retail sales data platform: uploads, metrics, daily analysis.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sample = commands.add_parser(
        "generate-sample-data",
        help="write realistic store upload files",
        description="Write realistic store upload files (same seed, same bytes).",
    )
    sample.add_argument("--out", type=Path, required=True, help="folder to write into")
    sample.add_argument("--stores", type=_stores, help="store ids, e.g. 0001,0002 (default: EXPECTED_STORES)")
    sample.add_argument("--days", type=_positive, default=14, help="number of business days (default 14)")
    sample.add_argument("--end-date", type=_date, help="last business day (default: yesterday)")
    sample.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    sample.add_argument("--timezone", help=f"stores' IANA time zone (default {DEFAULT_STORE_TIMEZONE})")
    sample.add_argument(
        "--lines-per-day",
        type=_positive,
        help="about this many line items per store-day (default: each store's own size, 300-1,500)",
    )
    sample.add_argument("--with-bad-files", action="store_true", help="add a few files that must be refused")
    sample.set_defaults(handler=generate_sample_data)

    run = commands.add_parser(
        "process",
        help="process what is waiting, once, and exit",
        description="Run the Dagster daemon (sensors, schedules, run queue, retries) on the instance under "
        "SALES_PLATFORM_HOME until everything waiting is processed and analysed, then exit: 1 if any run failed, "
        "3 if `sales-platform dev` holds this home. Suits cron.",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="print every processed file")
    run.set_defaults(handler=process)

    show = commands.add_parser(
        "demo",
        help="generate sample data and process it",
        description="Generate sample data for EXPECTED_STORES, drop it into the bucket's inbox and process it.",
    )
    show.add_argument("--days", type=_positive, default=14, help="number of business days (default 14)")
    show.add_argument("--end-date", type=_date, help="last business day (default: yesterday)")
    show.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    show.add_argument("--no-bad-files", action="store_true", help="only good files")
    show.set_defaults(handler=demo)

    resend = commands.add_parser(
        "send-report",
        help="send a stored daily report (again)",
        description="Send the daily report stored under REPORTS_PREFIX/YYYY-MM-DD/ on NOTIFY_CHANNELS. Channels that "
        "already received this content are skipped unless --force; exits 1 if a channel still fails.",
    )
    resend.add_argument("--date", type=_date, required=True, help="business day of the report, YYYY-MM-DD")
    resend.add_argument("--force", action="store_true", help="send even to channels that already have this content")
    resend.set_defaults(handler=send_report)

    serve = commands.add_parser(
        "dev",
        help="Dagster webserver and daemon, and the REST API, on this machine",
        description="Start the Dagster webserver and daemon (sensors and schedules running) and the REST API; "
        "Ctrl-C stops them all.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    serve.add_argument("--api-port", type=int, default=8000, help="REST API port (default 8000)")
    serve.add_argument("--no-api", action="store_true", help="only Dagster, without the REST API")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback address: the Dagster UI has no login (and the API none without API_KEYS)",
    )
    serve.set_defaults(handler=dev)

    health = commands.add_parser(
        "healthcheck",
        help="container health check (used by ECS)",
        description="Check what this container depends on; exit 0 when all is well, 1 otherwise. --database opens "
        "the Dagster database with the DAGSTER_PG_* credentials this task holds, so a task whose injected password "
        "was rotated is replaced.",
    )
    health.add_argument("--database", action="store_true", help="connect to the Dagster database (DAGSTER_PG_*)")
    health.add_argument(
        "--http", action="append", default=[], metavar="URL", help="URL that must answer 2xx (repeatable)"
    )
    health.add_argument("--grpc", type=int, metavar="PORT", help="local Dagster code server port that must be SERVING")
    health.set_defaults(handler=healthcheck)

    serve_api = commands.add_parser(
        "api",
        help="the REST API for the dashboard and the stores' upload scripts",
        description="Serve the REST API with uvicorn. Without API_KEYS it only listens on a loopback address, "
        "unless --insecure is given.",
    )
    serve_api.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_api.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve_api.add_argument("--workers", type=_positive, default=1, help="worker processes (default 1)")
    serve_api.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback address without API_KEYS (anyone reaching it gets in)",
    )
    serve_api.set_defaults(handler=api)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.handler(args))


if __name__ == "__main__":
    main()
