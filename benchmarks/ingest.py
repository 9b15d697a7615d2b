"""How fast one store upload becomes validated Parquet and store metrics.

Generates a 1,000,000-line store file (about 350 MB of pretty-printed JSON), then times, each
in a fresh process so peak memory is its own:

  platform  what the ingest run does for one upload: validate every contract rule, write the
            Parquet, compute the store metrics and write them to the table, archive the original
  floor     the fastest plain parse of the same file into an Arrow table plus the same
            Parquet write, with no validation (DuckDB's JSON reader)
  process   `sales-platform process` on a home holding just that file (the Dagster daemon, the
            run queue, a run process), minus the same command on an empty inbox; the run's own
            time from its start to its end, as the instance recorded it; and the peak memory of
            the biggest process of the pass (the run)

and prints medians of wall time, rows/s, MB/s and peak RSS, and the ratios to the floor.

    python benchmarks/ingest.py [--lines 1000000] [--repeat 3] [--keep FILE] [--no-process]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peak_memory import peak_rss_mb

DAY = "2026-11-20"
FILE_NAME = f"store_0001_{DAY}.json"


def platform(source: Path, work: Path) -> dict:
    import datetime as dt

    from sales_platform.resources.configurable import PlatformConfig
    from sales_platform.resources.local_object_store import LocalObjectStore
    from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable
    from sales_platform.services.store_day_ingest import Accepted, finish_upload, ingest_upload
    from sales_platform.settings import load_settings

    settings = load_settings(
        SALES_PLATFORM_HOME=str(work / "home"), EXPECTED_STORES="0001", MAX_UPLOAD_BYTES=str(1 << 40)
    )
    bucket = LocalObjectStore(settings.bucket_path)
    table = SqliteMetricsTable(settings.sqlite_path)
    config = PlatformConfig.from_settings(settings)
    (settings.bucket_path / "uploads").mkdir(parents=True)
    shutil.copyfile(source, settings.bucket_path / "uploads" / FILE_NAME)
    started = time.perf_counter()
    info = bucket.head(settings.storage.layout.upload_key(FILE_NAME))
    outcome = ingest_upload(bucket, table, config, info, dt.datetime.now(dt.UTC))
    assert isinstance(outcome, Accepted), outcome
    finish_upload(bucket, config, outcome)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rows": outcome.rows, "net_sales": str(outcome.metrics.net_sales)}


def floor(source: Path, work: Path) -> dict:
    import duckdb
    import pyarrow.parquet as pq

    started = time.perf_counter()
    table = duckdb.sql(f"SELECT * FROM read_json('{source}', format='array')").to_arrow_table()
    pq.write_table(table, work / "floor.parquet", compression="zstd")
    return {"seconds": time.perf_counter() - started, "rows": table.num_rows}


def _tree_peak_mb(home: Path, stop) -> float:
    """The highest peak RSS (VmHWM) of any process working on `home`, sampled until `stop()`."""
    marker = f"SALES_PLATFORM_HOME={home}".encode()
    peak = 0.0
    while not stop():
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker not in (entry / "environ").read_bytes().split(b"\0"):
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except OSError:
                continue
        time.sleep(0.1)
    return peak


def process_pass(source: Path | None, work: Path) -> dict:
    """`sales-platform process` on a fresh home holding `source` (or nothing)."""
    import os
    import threading

    import dagster as dg

    home = work / "home"
    inbox = home / "bucket" / "uploads"
    inbox.mkdir(parents=True)
    if source is not None:
        shutil.copyfile(source, inbox / FILE_NAME)
        settled = time.time() - 60
        os.utime(inbox / FILE_NAME, (settled, settled))
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SALES_PLATFORM_", "DAGSTER_", "AWS_"))
    }
    # A second expected store keeps the day incomplete: the pass ingests, it does not analyse.
    env.update(SALES_PLATFORM_HOME=str(home), EXPECTED_STORES="0001,0002", MAX_UPLOAD_BYTES=str(1 << 40))
    done = threading.Event()
    peaks: list[float] = []
    sampler = threading.Thread(target=lambda: peaks.append(_tree_peak_mb(home, done.is_set)))
    sampler.start()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sales_platform.cli", "process"], env=env, cwd=work, check=True, capture_output=True
    )
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    result = {"seconds": seconds, "peak_rss_mb": peaks[0]}
    if source is not None:
        os.environ["DAGSTER_HOME"] = str(home / "dagster")
        with dg.DagsterInstance.get() as instance:
            [record] = instance.get_run_records()
            stats = instance.get_run_stats(record.dagster_run.run_id)
            result["run_seconds"] = stats.end_time - stats.start_time
            result["launch_to_end_seconds"] = stats.end_time - stats.launch_time
    return result


def _child(kind: str, source: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as folder:
        result = (platform if kind == "platform" else floor)(Path(source), Path(folder))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def _measure(kind: str, source: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(source)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="reuse (or create) the generated file at this path")
    parser.add_argument("--no-process", action="store_true", help="leave out the `sales-platform process` timing")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    from sales_platform.samples.store_files import write_large_store_file

    with tempfile.TemporaryDirectory(prefix="ingest-bench-data-") as folder:
        source = args.keep or Path(folder) / FILE_NAME
        if not source.exists():
            started = time.perf_counter()
            write_large_store_file(source, args.lines, day=__import__("datetime").date.fromisoformat(DAY))
            print(f"generated {source.name}: {args.lines:,} lines in {time.perf_counter() - started:.1f} s")
        megabytes = source.stat().st_size / 1e6
        print(f"input: {megabytes:,.0f} MB of JSON, {args.lines:,} lines; {args.repeat} runs each, medians")
        results = {"platform": [], "floor": []}
        for _ in range(args.repeat):
            for kind in results:  # interleaved, so drift in machine speed hits both alike
                results[kind].append(_measure(kind, source))
        print(f"{'':10} {'wall s':>8} {'rows/s':>12} {'MB/s':>8} {'peak RSS MB':>12}")
        medians = {}
        for kind, runs in results.items():
            seconds = statistics.median(run["seconds"] for run in runs)
            rss = statistics.median(run["peak_rss_mb"] for run in runs)
            rows = runs[0]["rows"]
            medians[kind] = seconds
            print(f"{kind:10} {seconds:8.2f} {rows / seconds:12,.0f} {megabytes / seconds:8.1f} {rss:12,.0f}")
        print(f"platform / floor: {medians['platform'] / medians['floor']:.2f}x")
        print(f"net sales of the day: {results['platform'][0]['net_sales']}")
        if args.no_process:
            return
        passes, empties = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="ingest-bench-pass-") as work:
                passes.append(process_pass(source, Path(work)))
            with tempfile.TemporaryDirectory(prefix="ingest-bench-empty-") as work:
                empties.append(process_pass(None, Path(work)))
        full = statistics.median(run["seconds"] for run in passes)
        empty = statistics.median(run["seconds"] for run in empties)
        run_seconds = statistics.median(run["run_seconds"] for run in passes)
        launched = statistics.median(run["launch_to_end_seconds"] for run in passes)
        peak = statistics.median(run["peak_rss_mb"] for run in passes)
        print(
            f"process: pass {full:.2f} s, empty pass {empty:.2f} s, difference {full - empty:.2f} s "
            f"= {(full - empty) / medians['floor']:.2f}x the floor"
        )
        print(
            f"         the run from its start to its end {run_seconds:.2f} s = {run_seconds / medians['floor']:.2f}x the "
            f"floor; from its launch {launched:.2f} s; peak RSS of the biggest process {peak:,.0f} MB"
        )


if __name__ == "__main__":
    main()
