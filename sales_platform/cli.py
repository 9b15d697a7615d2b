"""The `sales-platform` command."""

from __future__ import annotations

import argparse
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
    from sales_platform.local_runner import local_instance, process_pending, quiet_dagster_warnings

    quiet_dagster_warnings()
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
    print(f"  Dagster runs  sales-platform dev, then http://127.0.0.1:3000")
    return 1 if report.failed else 0


def dev(args: argparse.Namespace) -> int:
    from sales_platform.local_runner import prepare_dagster_home

    settings = _settings()  # a bad setting stops here, not inside the webserver
    env = {**os.environ, "SALES_PLATFORM_HOME": str(settings.home_path)}
    env["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    if settings.resolved_storage_backend == "local":
        # The inbox exists before anyone copies a store file into it: `cp f .../uploads/` into a
        # missing folder fails, or without the slash makes a file named `uploads` nobody watches.
        (settings.bucket_path / settings.upload_prefix).mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "dagster", "dev", "-m", "sales_platform.definitions",
        "--host", args.host, "--port", str(args.port),
    ]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops everything)", flush=True)
    # Its own session, so Ctrl-C reaches dagster dev as a signal we forward once, and its
    # webserver, daemon and code server stop together.
    child = subprocess.Popen(command, env=env, start_new_session=True)
    # In its own session it also misses `kill` (SIGTERM) and a closed terminal (SIGHUP) aimed at
    # this command, which would leave the webserver and daemon running: treat both as Ctrl-C.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.default_int_handler)
    try:
        return child.wait()
    except KeyboardInterrupt:
        os.killpg(child.pid, signal.SIGINT)
        try:
            return child.wait(timeout=30) and 0
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            return 1


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

    serve = commands.add_parser(
        "dev",
        help="Dagster webserver and daemon on this machine",
        description="Start the Dagster webserver and daemon (sensors and schedules running); Ctrl-C stops them.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    serve.set_defaults(handler=dev)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.handler(args))


if __name__ == "__main__":
    main()
