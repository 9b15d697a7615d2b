"""The `sales-platform` command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sales_platform.settings import Settings, SettingsError, load_settings

DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
EPILOG = "Configuration comes from the environment or a .env file; see README.md and .env.example."


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"sales-platform: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _stores(text: str) -> list[str]:
    stores = [part.strip() for part in text.split(",") if part.strip()]
    if not stores or any(len(s) != 4 or not s.isdigit() for s in stores):
        raise argparse.ArgumentTypeError("stores are four-digit ids separated by commas, e.g. 0001,0002")
    return stores


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# ---------------------------------------------------------------------------------------------
def generate_sample_data(args: argparse.Namespace) -> int:
    from sales_platform.domain.sample_data import default_end_date, write_sample_files

    timezone = args.timezone or "America/New_York"
    stores = args.stores or _settings().expected_stores
    end_date = args.end_date or default_end_date(timezone)
    summary = write_sample_files(
        args.out,
        stores=stores,
        days=args.days,
        end_date=end_date,
        seed=args.seed,
        timezone=timezone,
        with_bad_files=args.with_bad_files,
    )
    start = end_date - dt.timedelta(days=args.days - 1)
    print(
        f"wrote {summary.files} files ({summary.lines:,} lines, {summary.transactions:,} transactions, "
        f"{summary.bytes / 1e6:.1f} MB) for {len(stores)} stores from {start} to {end_date} into {args.out}"
    )
    for bad in summary.bad_files:
        print(f"  bad file {bad.path.name}: {bad.reason}")
    return 0


def _print_outcome(outcome) -> None:
    name = (outcome.upload_key or outcome.partition_key or outcome.job_name).rsplit("/", 1)[-1]
    if outcome.status == "rejected":
        print(f"  refused   {name}: {outcome.detail}")
    elif outcome.status == "failed":
        print(f"  FAILED    {name} ({outcome.job_name}, run {outcome.run_id}): {outcome.detail}")


def _run_pass(settings: Settings, verbose: bool, workers: int):
    from sales_platform.defs import build_definitions
    from sales_platform.defs.analysis_triggers import ANALYSIS_JOB
    from sales_platform.local_runner import local_instance, process_pending, quiet_dagster

    quiet_dagster()
    definitions = build_definitions(settings)
    with local_instance(settings) as instance:
        done = 0

        def progress(outcome) -> None:
            nonlocal done
            done += 1
            if verbose and outcome.status == "processed":
                print(f"  processed {outcome.upload_key}: {outcome.rows:,} lines")
            if verbose and outcome.status == "done" and outcome.job_name == ANALYSIS_JOB:
                print(f"  analysed  {outcome.partition_key}")
            _print_outcome(outcome)
            if not verbose and done % 25 == 0:
                print(f"  ... {done} runs", flush=True)

        return process_pending(settings, definitions, instance, on_outcome=progress, workers=workers)


def _report(report, started: float) -> None:
    from sales_platform.defs.analysis_triggers import ANALYSIS_JOB

    rows = sum(outcome.rows for outcome in report.outcomes)
    analysed = sum(outcome.job_name == ANALYSIS_JOB and outcome.status == "done" for outcome in report.outcomes)
    print(
        f"{len(report.outcomes)} runs in {time.monotonic() - started:.1f} s: {report.count('processed')} files "
        f"processed ({rows:,} lines), {report.count('rejected')} refused, {len(report.failed)} failed, "
        f"{analysed} day(s) analysed"
    )


def process(args: argparse.Namespace) -> int:
    settings = _settings()
    started = time.monotonic()
    report = _run_pass(settings, args.verbose, args.workers)
    if not report.outcomes:
        print(f"nothing to do: no new files in {settings.upload_prefix}")
    else:
        _report(report, started)
    return 1 if report.failed else 0


def demo(args: argparse.Namespace) -> int:
    from sales_platform.domain.sample_data import default_end_date, write_sample_files
    from sales_platform.resources.factory import build_bucket

    settings = _settings()
    started = time.monotonic()
    end_date = args.end_date or default_end_date(settings.daily_analysis_timezone)
    bucket = build_bucket(settings)
    with tempfile.TemporaryDirectory(prefix="sales-platform-sample-") as folder:
        sample = write_sample_files(
            Path(folder),
            stores=settings.expected_stores,
            days=args.days,
            end_date=end_date,
            seed=args.seed,
            timezone=settings.daily_analysis_timezone,
            with_bad_files=not args.no_bad_files,
        )
        paths = sample.paths + [bad.path for bad in sample.bad_files]
        for path in paths:
            bucket.write_file(settings.storage_layout.upload_key(path.name), path)
    print(
        f"dropped {len(paths)} files ({sample.lines:,} good lines, {len(sample.bad_files)} deliberately bad files) "
        f"for {len(settings.expected_stores)} stores x {args.days} days up to {end_date} into "
        f"{bucket.description}/{settings.upload_prefix}"
    )
    # The inbox watcher leaves files alone until they have stopped changing.
    time.sleep(settings.upload_settle_seconds)
    report = _run_pass(settings, verbose=False, workers=args.workers)
    _report(report, started)
    layout = settings.storage_layout
    print("\nwhere to look:")
    print(f"  bucket        {bucket.description} ({layout.processed_prefix}, {layout.rejected_prefix}, {layout.archive_prefix})")
    print(f"  table         {settings.sqlite_path if settings.resolved_table_backend == 'sqlite' else settings.dynamodb_table}")
    print("  analysis      the table's DATE#<day> items: SUMMARY#COMPANY, PRODUCT#<sku>, INSIGHT#...; "
          f"working files under {settings.analysis_prefix}")
    print(f"  reports       {settings.reports_prefix} in the bucket; sent on {', '.join(settings.notify_channels)}"
          + (f" ({settings.outbox_path})" if "outbox" in settings.notify_channels else ""))
    print(f"  BI export     {settings.quicksight_prefix} in the bucket")
    print("  Dagster runs  sales-platform dev, then http://127.0.0.1:3000")
    return 1 if report.failed else 0


def dev(args: argparse.Namespace) -> int:
    from sales_platform.api.security import is_loopback
    from sales_platform.local_runner import prepare_dagster_home

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
    env = {**os.environ, "SALES_PLATFORM_HOME": str(settings.home_path)}
    env["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    if settings.resolved_storage_backend == "local":
        # The inbox exists before anyone copies a store file into it: `cp f .../uploads/` into a
        # missing folder fails, or without the slash makes a file named `uploads` nobody watches.
        (settings.bucket_path / settings.upload_prefix).mkdir(parents=True, exist_ok=True)
    commands = {
        "Dagster": [
            sys.executable, "-m", "dagster", "dev", "-m", "sales_platform.definitions",
            "--host", args.host, "--port", str(args.port),
        ],
    }
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops everything)", flush=True)
    if not args.no_api:
        commands["API"] = [
            sys.executable, "-m", "sales_platform.cli", "api", "--host", args.host, "--port", str(args.api_port),
            *(["--insecure"] if args.insecure else []),
        ]
    # Each in its own session, so Ctrl-C reaches each as one signal we forward, and dagster dev's
    # webserver, daemon and code server stop together.
    children = {name: subprocess.Popen(command, env=env, start_new_session=True) for name, command in commands.items()}
    # In their own sessions they also miss `kill` (SIGTERM) and a closed terminal (SIGHUP) aimed
    # at this command, which would leave them running: treat both as Ctrl-C.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.default_int_handler)
    try:
        while True:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    # One half alone is not what was asked for (e.g. the API port was taken).
                    print(f"sales-platform dev: {name} exited with {code}; stopping the rest", file=sys.stderr, flush=True)
                    _stop_children(children)
                    return code
            time.sleep(0.5)
    except KeyboardInterrupt:
        return _stop_children(children)


def _stop_children(children: dict[str, subprocess.Popen]) -> int:
    """Ctrl-C to every child's process group, then at most 30 s before killing what is left;
    0 when everything stopped by itself."""
    for child in children.values():
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    code = 0
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            code = 1
    return code


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
    if not settings.public_api_url:
        # Read by the workers' own settings: the signed URLs point at this server.
        os.environ["PUBLIC_API_URL"] = _public_url(args.host, args.port)
    install_log_redaction()
    print(f"API on http://{args.host}:{args.port} (docs at /docs; Ctrl-C stops it)", flush=True)
    uvicorn.run(
        "sales_platform.api.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        **server_options(),
    )
    return 0


def send_report(args: argparse.Namespace) -> int:
    from sales_platform.defs.report_delivery import ReportFolder, ReportNotStored, deliver_report
    from sales_platform.resources.factory import build_bucket, build_notifier

    settings = _settings()
    folder = ReportFolder(settings.reports_prefix, args.date)
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
        prog="sales-platform", description="Retail sales data platform: uploads, metrics, daily analysis.", epilog=EPILOG
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
    sample.add_argument("--timezone", help="stores' IANA time zone (default America/New_York)")
    sample.add_argument("--with-bad-files", action="store_true", help="add a few files that must be refused")
    sample.set_defaults(handler=generate_sample_data)

    run = commands.add_parser(
        "process",
        help="process what is waiting, once, and exit",
        description="Evaluate the sensors once, run what they request in this process (recorded in the Dagster "
        "instance under SALES_PLATFORM_HOME) and exit: non-zero if any run failed. Suits cron.",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="print every processed file")
    run.add_argument("--workers", type=_positive, default=DEFAULT_WORKERS, help=f"runs at once (default {DEFAULT_WORKERS})")
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
    show.add_argument("--workers", type=_positive, default=DEFAULT_WORKERS, help=f"runs at once (default {DEFAULT_WORKERS})")
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
    health.add_argument("--http", action="append", default=[], metavar="URL", help="URL that must answer 2xx (repeatable)")
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
        "--insecure", action="store_true", help="allow a non-loopback address without API_KEYS (anyone reaching it gets in)"
    )
    serve_api.set_defaults(handler=api)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.handler(args))


if __name__ == "__main__":
    main()
