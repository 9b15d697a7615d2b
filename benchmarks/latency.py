"""How long a day's last store file takes to become that day's report, under `sales-platform dev`.

Starts `sales-platform dev` (Dagster webserver and daemon, no API) on a fresh home with 11
expected stores. For each of N days it drops ten stores' files and waits until they are
ingested, then drops the held-back store's file and measures the seconds from that moment to

  (a) the store's `store_metrics` materialization for the day, and
  (b) the day's report `.eml` in the outbox (ingest, completeness sensor, analysis, report),

reading the Dagster instance and the outbox as a user would see them. Prints each day and the
medians.

    python benchmarks/latency.py [--days 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

STORES = [f"{n:04d}" for n in range(1, 12)]
HELD_BACK = STORES[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def drop(inbox: Path, staging: Path, name: str, data: bytes) -> None:
    """A finished copy: written elsewhere, then renamed into the inbox, already settled."""
    staging.mkdir(parents=True, exist_ok=True)
    (staging / name).write_bytes(data)
    settled = time.time() - 10
    os.utime(staging / name, (settled, settled))
    os.replace(staging / name, inbox / name)


def wait_for(condition, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()

    import dagster as dg

    from sales_platform.samples.store_files import default_end_date, generate_store_day, render_json

    end = default_end_date("America/New_York")
    days = [end - dt.timedelta(days=n) for n in range(args.days, 0, -1)]
    with tempfile.TemporaryDirectory(prefix="latency-bench-") as folder:
        root = Path(folder)
        home = root / "home"
        inbox = home / "bucket" / "uploads"
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "SALES_PLATFORM_", "DAGSTER_"))
        }
        env.update(SALES_PLATFORM_HOME=str(home), EXPECTED_STORES=",".join(STORES), ENABLE_SCHEDULED_ANALYSIS="false")
        port = free_port()
        log = (root / "dev.log").open("wb")
        started = time.monotonic()
        dev = subprocess.Popen(
            [sys.executable, "-m", "sales_platform.cli", "dev", "--no-api", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def serving() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                        return True
                except OSError:
                    return False

            wait_for(serving, 180, "the Dagster webserver")
            print(f"sales-platform dev serving after {time.monotonic() - started:.1f} s")
            os.environ["DAGSTER_HOME"] = str(home / "dagster")
            instance = dg.DagsterInstance.get()
            metrics_key = dg.AssetKey("store_metrics")

            def materialized(partition: str) -> bool:
                return partition in instance.get_materialized_partitions(metrics_key)

            to_metrics, to_report = [], []
            for day in days:
                for store in STORES[:-1]:
                    drop(
                        inbox,
                        root / "staging",
                        f"store_{store}_{day}.json",
                        render_json(generate_store_day(store, day, stores=STORES)),
                    )
                wait_for(
                    lambda: all(materialized(f"{day}|{s}") for s in STORES[:-1]), 300, f"the first ten stores of {day}"
                )
                time.sleep(6)  # let the sensors settle, as on a normal evening
                last = render_json(generate_store_day(HELD_BACK, day, stores=STORES))
                dropped = time.monotonic()
                drop(inbox, root / "staging", f"store_{HELD_BACK}_{day}.json", last)
                metrics_at = wait_for(lambda: materialized(f"{day}|{HELD_BACK}"), 300, f"store {HELD_BACK} on {day}")
                report_at = wait_for(
                    lambda: any((home / "outbox").glob(f"*-report-{day}.eml")), 300, f"the report of {day}"
                )
                to_metrics.append(metrics_at - dropped)
                to_report.append(report_at - dropped)
                print(f"{day}: store_metrics after {to_metrics[-1]:5.1f} s, report after {to_report[-1]:5.1f} s")
            print(
                f"median over {len(days)} days: store_metrics {statistics.median(to_metrics):.1f} s "
                f"(min {min(to_metrics):.1f}, max {max(to_metrics):.1f}), report {statistics.median(to_report):.1f} s "
                f"(min {min(to_report):.1f}, max {max(to_report):.1f}); goal: report within 30 s"
            )
            instance.dispose()
        finally:
            os.killpg(dev.pid, signal.SIGINT)
            try:
                dev.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(dev.pid, signal.SIGKILL)
            log.close()


if __name__ == "__main__":
    main()
