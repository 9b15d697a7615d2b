"""How long one business day's full analysis takes for a large chain, and how much memory.

Sets up a local platform (folder bucket, SQLite table) holding what a chain of 1,000 stores
leaves after 30 days: store-day summaries and upload tracking items for every store and day,
product figures for the days already analysed, and the analysed day's Parquet files (about
900 lines per store, as many as a standard sample store sells). Then runs the `daily_analysis`
job for the last day with the rules engine, each time in a fresh process so peak memory is its
own, and prints medians of wall time (the job's run, and the whole process with Dagster's
start-up) and peak RSS, with each step's share.

    python benchmarks/daily_analysis.py [--stores 1000] [--days 30] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from peak_memory import peak_rss_mb

DAY = dt.date(2026, 11, 20)
LINES_PER_STORE = 900


def _settings(home: Path, stores: int, days: int):
    from sales_platform.settings import load_settings

    return load_settings(
        SALES_PLATFORM_HOME=str(home),
        EXPECTED_STORES=",".join(f"{n:04d}" for n in range(1, stores + 1)),
        PARTITIONS_START_DATE=(DAY - dt.timedelta(days=days + 5)).isoformat(),
        RECOMMENDATION_ENGINE="rules",
    )


RHYTHM = (0.88, 0.84, 0.90, 0.96, 1.16, 1.26, 1.08)  # Monday .. Sunday


def _earlier_day(today, day: dt.date, rng: random.Random):
    """An earlier day of a store, scaled from its analysed day by the weekly rhythm, with some
    noise and now and then an outage or an event day, so the analysis has something to find."""
    from sales_platform.domain.store_metrics import StoreDayMetrics

    factor = RHYTHM[day.weekday()] / RHYTHM[DAY.weekday()] * rng.uniform(0.92, 1.08)
    incident = rng.random()
    factor *= 0.4 if incident < 0.003 else 2.5 if incident > 0.997 else 1.0
    scale = lambda amount: (amount * Decimal(str(factor))).quantize(Decimal("0.01"))  # noqa: E731
    return StoreDayMetrics(
        total_sales=scale(today.total_sales),
        total_discount=scale(today.total_discount),
        net_sales=scale(today.total_sales) - scale(today.total_discount),
        transaction_count=max(1, round(today.transaction_count * factor)),
        line_item_count=max(1, round(today.line_item_count * factor)),
        item_count=max(1, round(today.item_count * factor)),
        unique_customers=max(1, round(today.unique_customers * factor)),
        payment_breakdown={method: scale(amount) for method, amount in today.payment_breakdown.items()},
    )


def _day_lines(connection, stores: int):
    """The analysed day's line items for every store, generated in DuckDB."""
    from sales_platform.samples.store_files import CATALOGUE

    catalogue = [(p.sku, p.name, str(p.unit_price)) for p in CATALOGUE]
    connection.execute("CREATE TABLE catalogue (n INTEGER, sku VARCHAR, name VARCHAR, price DECIMAL(10,2))")
    connection.executemany("INSERT INTO catalogue VALUES (?, ?, ?, ?)", [(n, *p) for n, p in enumerate(catalogue)])
    return connection.sql(
        f"""
        SELECT lpad(CAST(s.s AS VARCHAR), 4, '0') AS store_id,
               'TXN-' || s.s || '-' || (l.l // 4) AS transaction_id,
               TIMESTAMPTZ '{DAY} 13:00:00+00' + to_seconds(l.l * 40) AS transaction_timestamp,
               c.sku AS item_sku, c.name AS item_name,
               CAST(1 + (hash(s.s, l.l) % 3) AS INTEGER) AS quantity, c.price AS unit_price,
               CAST(c.price * (1 + (hash(s.s, l.l) % 3)) AS DECIMAL(10,2)) AS line_total,
               CAST(CASE WHEN hash(l.l, s.s) % 10 = 0 THEN round(c.price * 0.1, 2) ELSE 0 END AS DECIMAL(10,2))
                   AS discount_amount,
               ['cash', 'credit', 'debit', 'gift_card', 'mobile'][1 + (l.l // 4) % 5] AS payment_method,
               'CUST-' || lpad(CAST(hash(s.s, l.l // 4) % 100000 AS VARCHAR), 6, '0') AS customer_id
        FROM range(1, {stores + 1}) s(s), range({LINES_PER_STORE}) l(l)
        JOIN catalogue c ON c.n = (hash(l.l * 7919 + s.s) % {len(catalogue)})
        ORDER BY store_id
        """
    ).to_arrow_table()


def setup(home: Path, stores: int, days: int) -> dict:
    import duckdb
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sales_platform.domain.analysis_items import product_day_items
    from sales_platform.domain.product_metrics import ProductDay
    from sales_platform.domain.store_metrics import compute_store_metrics
    from sales_platform.domain.table_items import store_day_summary_item, upload_tracking_item
    from sales_platform.domain.upload_contract import LINE_ITEM_SCHEMA
    from sales_platform.resources.factory import build_bucket, build_table
    from sales_platform.samples.store_files import CATALOGUE

    started = time.perf_counter()
    settings = _settings(home, stores, days)
    table, bucket = build_table(settings), build_bucket(settings)
    layout = settings.storage.layout
    rng = random.Random(20261120)
    now = dt.datetime.now(dt.UTC)

    def summary_items(store_id: str, day: dt.date, metrics, key: str) -> list[dict]:
        name = f"store_{store_id}_{day}.json"
        return [
            store_day_summary_item(store_id, day, metrics, source_file=name, processed_key=key, processed_at=now),
            upload_tracking_item(
                store_id, day, source_file=name, source_version="1", rows=metrics.line_item_count, processed_at=now
            ),
        ]

    # The analysed day: Parquet per store, and the store metrics the ingest computes from it.
    lines = _day_lines(duckdb.connect(), stores)
    store_column = lines.column("store_id")
    staging = home / "parquet-staging"
    staging.mkdir(exist_ok=True)
    analysed: dict[str, object] = {}
    for store_id in pc.unique(store_column).to_pylist():
        rows = lines.filter(pc.equal(store_column, store_id)).drop_columns(["store_id"]).cast(LINE_ITEM_SCHEMA)
        pq.write_table(rows, staging / "data.parquet", compression="zstd")
        key = layout.processed_key(DAY, store_id)
        bucket.write_file(key, staging / "data.parquet")
        analysed[store_id] = compute_store_metrics(rows)
    table.put_items(
        [
            item
            for store_id, m in analysed.items()
            for item in summary_items(store_id, DAY, m, layout.processed_key(DAY, store_id))
        ]
    )

    for offset in range(days - 1, 0, -1):  # the days before
        day = DAY - dt.timedelta(days=offset)
        table.put_items(
            [
                item
                for store_id, today in analysed.items()
                for item in summary_items(
                    store_id, day, _earlier_day(today, day, rng), layout.processed_key(day, store_id)
                )
            ]
        )
        # Those days were analysed already: their product figures are in the table.
        products = [
            ProductDay(
                p.sku,
                p.name,
                units := rng.randint(50, 400) * stores // 10,
                p.unit_price * units,
                p.unit_price * units,
                stores,
                rank,
            )
            for rank, p in enumerate(CATALOGUE, start=1)
        ]
        table.put_items(product_day_items(day, products))
    return {"seconds": time.perf_counter() - started, "lines": lines.num_rows}


def _child(home: str, stores: int, days: int) -> None:
    import dagster as dg
    from sales_platform.local_runner import local_instance, quiet_dagster

    from sales_platform.defs.loading import build_definitions

    quiet_dagster()
    settings = _settings(Path(home), stores, days)
    definitions = build_definitions(settings)
    with local_instance(settings) as instance:
        started = time.perf_counter()
        result = definitions.resolve_job_def("daily_analysis").execute_in_process(
            instance=instance,
            partition_key=DAY.isoformat(),
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        seconds = time.perf_counter() - started
        steps = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id)}
    counts = {}
    for asset, key in (
        ("anomalies", "anomalies"),
        ("trends", "trends"),
        ("recommendations", "recommendations"),
        ("product_metrics", "products"),
    ):
        [event] = result.asset_materializations_for_node(asset)
        counts[key] = event.metadata[key].value
    checks = [
        e.event_specific_data.passed
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    print(
        json.dumps(
            {
                "success": result.success,
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
                "steps": steps,
                "counts": counts,
                "checks_passed": f"{sum(checks)}/{len(checks)}",
            }
        )
    )


def _measure(home: Path, stores: int, days: int) -> dict:
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(home), "--stores", str(stores), "--days", str(days)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DAGSTER_HOME": str(home / "dagster")},
    ).stdout
    return {**json.loads(output.strip().splitlines()[-1]), "process_seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="reuse (or create) the platform home at this path")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.stores, args.days)
        return

    with tempfile.TemporaryDirectory(prefix="analysis-bench-") as folder:
        home = args.keep or Path(folder) / "home"
        if not (home / "sales.db").exists():
            made = setup(home, args.stores, args.days)
            print(
                f"set up {args.stores:,} stores x {args.days} days of store metrics, and {made['lines']:,} lines "
                f"of Parquet for {DAY}, in {made['seconds']:.1f} s"
            )
        runs = [_measure(home, args.stores, args.days) for _ in range(args.repeat)]
        assert all(run["success"] for run in runs), runs
        median = lambda key: statistics.median(run[key] for run in runs)  # noqa: E731
        print(f"one day's full analysis (rules engine), median of {args.repeat} fresh processes:")
        print(f"  job run     {median('seconds'):6.2f} s")
        print(f"  process     {median('process_seconds'):6.2f} s (with Python and Dagster start-up)")
        print(
            f"  peak RSS    {median('peak_rss_mb'):6,.0f} MB (highest {max(run['peak_rss_mb'] for run in runs):,.0f} MB)"
        )
        print(
            "  steps:      "
            + ", ".join(
                f"{step} {statistics.median(run['steps'][step] for run in runs):.2f} s" for step in runs[0]["steps"]
            )
        )
        counts = runs[0]["counts"]
        print(
            f"  found:      {counts['products']} products, {counts['anomalies']} anomalies, {counts['trends']} trends, "
            f"{counts['recommendations']} recommendations; checks passed {runs[0]['checks_passed']}"
        )


if __name__ == "__main__":
    main()
