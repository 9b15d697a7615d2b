"""How long one look of the upload sensor takes over a local inbox holding a backlog.

Fills a fresh local bucket's `uploads/` with N small files (one per store-day, plus a second
format for a tenth of them), then evaluates `store_upload_sensor` as the daemon does, first
with an empty cursor (every file is new: listed, checked for a writer holding it open, grouped
and requested) and then again with the cursor it returned (nothing new). Prints the median of
each, and how many processes /proc shows (the open-file check reads each one's descriptors).

    python benchmarks/sensor_tick.py [--files 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import dagster as dg

    from sales_platform.defs.ingest.upload_sensor import UPLOAD_SENSOR
    from sales_platform.defs.loading import build_definitions
    from sales_platform.settings import load_settings

    stores = [f"{n:04d}" for n in range(1, 101)]
    days = -(-args.files // len(stores))
    start = dt.date.today() - dt.timedelta(days=days + 1)
    with tempfile.TemporaryDirectory(prefix="sensor-bench-") as folder:
        settings = load_settings(
            SALES_PLATFORM_HOME=str(Path(folder) / "home"),
            EXPECTED_STORES=",".join(stores),
            PARTITIONS_START_DATE=start.isoformat(),
            MAX_FILES_PER_SENSOR_TICK=str(args.files * 2),
        )
        inbox = settings.bucket_path / settings.storage.upload_prefix
        inbox.mkdir(parents=True)
        settled = time.time() - 60
        names = [f"store_{store}_{start + dt.timedelta(days=n)}.json" for n in range(days) for store in stores][
            : args.files
        ]
        names += [name.replace(".json", ".csv") for name in names[::10]]
        for name in names:
            (inbox / name).write_bytes(b"[]")
            os.utime(inbox / name, (settled, settled))
        definitions = build_definitions(settings)
        sensor = definitions.resolve_sensor_def(UPLOAD_SENSOR)
        with dg.instance_for_test() as instance:

            def tick(cursor: str | None):
                context = dg.build_sensor_context(
                    instance=instance,
                    cursor=cursor,
                    definitions=definitions,
                    sensor_name=UPLOAD_SENSOR,
                    resources=definitions.resources,
                )
                started = time.perf_counter()
                data = sensor.evaluate_tick(context)
                return time.perf_counter() - started, data

            new, quiet = [], []
            for _ in range(args.repeat):
                seconds, data = tick(None)
                new.append(seconds)
                quiet.append(tick(data.cursor)[0])
            requested = sum(len(r.run_config["ops"]["ingest_uploads"]["config"]["uploads"]) for r in data.run_requests)
    processes = sum(name.isdigit() for name in os.listdir("/proc")) if os.path.isdir("/proc") else 0
    print(f"inbox: {len(names):,} files ({len(names) - args.files:,} second formats); {processes} processes in /proc")
    print(
        f"a look finding them all new: {statistics.median(new) * 1000:8.0f} ms  ({requested:,} requested in {len(data.run_requests)} runs)"
    )
    print(f"a look finding nothing new:  {statistics.median(quiet) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
