"""How fast one store upload becomes validated Parquet and store metrics.

Generates a 1,000,000-line store file (about 350 MB of pretty-printed JSON), then times, each
in a fresh process so peak memory is its own:

  platform  validate every contract rule + write the Parquet + archive the original +
            compute the store metrics (what `store_sales` and `store_metrics` do)
  floor     the fastest plain parse of the same file into an Arrow table plus the same
            Parquet write, with no validation (DuckDB's JSON reader)

and prints medians of wall time, rows/s, MB/s and peak RSS, and the platform/floor ratio.

    python benchmarks/ingest.py [--lines 1000000] [--repeat 3] [--keep FILE]
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

    from sales_platform.services.upload_intake import accept
    from sales_platform.domain.storage_layout import StorageLayout
    from sales_platform.domain.store_metrics import compute_store_metrics
    from sales_platform.domain.upload_contract import parse_upload_name
    from sales_platform.domain.upload_validation import ValidationRules, validate_upload
    from sales_platform.resources.local_object_store import LocalObjectStore

    bucket = LocalObjectStore(work / "bucket")
    layout = StorageLayout()
    (work / "bucket" / "uploads").mkdir(parents=True)
    shutil.copyfile(source, work / "bucket" / "uploads" / FILE_NAME)
    started = time.perf_counter()
    info = bucket.head(layout.upload_key(FILE_NAME))
    upload = parse_upload_name(FILE_NAME)
    with bucket.local_copy(info.key) as path:
        line_items = validate_upload(path, upload, ValidationRules())
    accepted = accept(bucket, layout, info, upload, line_items)
    metrics = compute_store_metrics(line_items)
    elapsed = time.perf_counter() - started
    assert upload.business_date == dt.date.fromisoformat(DAY)
    return {"seconds": elapsed, "rows": accepted.rows, "net_sales": str(metrics.net_sales)}


def floor(source: Path, work: Path) -> dict:
    import duckdb
    import pyarrow.parquet as pq

    started = time.perf_counter()
    table = duckdb.sql(f"SELECT * FROM read_json('{source}', format='array')").to_arrow_table()
    pq.write_table(table, work / "floor.parquet", compression="zstd")
    return {"seconds": time.perf_counter() - started, "rows": table.num_rows}


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
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    from sales_platform.domain.sample_data import write_large_store_file

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


if __name__ == "__main__":
    main()
