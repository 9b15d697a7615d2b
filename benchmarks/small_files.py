"""The old system's own workload: 330 small store files (11 stores x 30 days, about 470 lines
each) and their 30 daily analyses, through the same path the daemon uses.

Generates the files with `sales-platform generate-sample-data --lines-per-day 470`, drops them
into the inbox of a fresh home, and times one `sales-platform process` pass over them (the
Dagster daemon, its run queue and run processes; the analyses and their reports included).
Prints the total wall time, seconds per file, when the last file was in and the last analysis
done (from the runs the instance recorded), and the runs it took. The old serverless chain
needed 116.8 s for this work on a 2-core machine.

    python benchmarks/small_files.py [--stores 11] [--days 30] [--lines-per-day 470] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD_CHAIN_SECONDS = 116.8


def one_pass(root: Path, stores: list[str], days: int, lines: int) -> dict:
    import dagster as dg

    home = root / "home"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SALES_PLATFORM_", "DAGSTER_", "AWS_"))
    }
    env.update(SALES_PLATFORM_HOME=str(home), EXPECTED_STORES=",".join(stores))
    cli = [sys.executable, "-m", "sales_platform.cli"]
    samples = root / "samples"
    subprocess.run(
        [*cli, "generate-sample-data", "--out", str(samples), "--days", str(days), "--lines-per-day", str(lines)],
        env=env,
        check=True,
        capture_output=True,
    )
    inbox = home / "bucket" / "uploads"
    inbox.mkdir(parents=True)
    files = sorted(samples.iterdir())
    settled = time.time() - 60
    total_lines = 0
    for path in files:
        os.utime(path, (settled, settled))
        os.replace(path, inbox / path.name)
    started = time.time()
    result = subprocess.run([*cli, "process"], env=env, cwd=root, capture_output=True, text=True)
    seconds = time.time() - started
    if result.returncode != 0:
        raise SystemExit(f"process failed:\n{result.stdout}\n{result.stderr}")
    summary = result.stdout.strip().splitlines()[-1]
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    with dg.DagsterInstance.get() as instance:
        records = list(instance.get_run_records())
        ends: dict[str, float] = {}
        for record in records:
            stats = instance.get_run_stats(record.dagster_run.run_id)
            kind = record.dagster_run.job_name
            ends[kind] = max(ends.get(kind, 0.0), stats.end_time or 0.0)
        for materialization in instance.fetch_materializations(dg.AssetKey("store_sales"), limit=10_000).records:
            total_lines += int(materialization.asset_materialization.metadata["dagster/row_count"].value)
    return {
        "seconds": seconds,
        "files": len(files),
        "lines": total_lines,
        "runs": len(records),
        "ingested_after": ends.get("ingest_store_uploads", started) - started,
        "analysed_after": ends.get("daily_analysis", started) - started,
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=11)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--lines-per-day", type=int, default=470)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    stores = [f"{n:04d}" for n in range(1, args.stores + 1)]
    results = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="small-files-bench-") as folder:
            results.append(one_pass(Path(folder), stores, args.days, args.lines_per_day))
            print(results[-1]["summary"])
    seconds = statistics.median(r["seconds"] for r in results)
    first = results[0]
    print(
        f"{first['files']} files ({first['lines'] / first['files']:.0f} lines each on average) and {args.days} analyses: "
        f"{seconds:.1f} s, {seconds / first['files']:.3f} s per file, in {first['runs']} runs; "
        f"all files in after {first['ingested_after']:.1f} s, the last analysis and report done after "
        f"{first['analysed_after']:.1f} s (median of {len(results)}; old chain {OLD_CHAIN_SECONDS} s, "
        f"{OLD_CHAIN_SECONDS / seconds:.1f}x; goal under 40 s)"
    )


if __name__ == "__main__":
    main()
