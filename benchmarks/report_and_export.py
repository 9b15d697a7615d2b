"""How long the daily report and the BI export take for a full-size chain.

Fills a SQLite table (the local backend) with BI_EXPORT_DAYS days of 11 stores, 400 products
a day, 15 anomalies, 5 trends and 8 recommendations a day, then times, each several times:

  report   read the day's items and 30 days of company history, build text, HTML and both
           charts (what `daily_report` does before sending)
  export   read 30 days of items and write the five datasets as NDJSON and Parquet with their
           manifests (what `bi_export` does)

and prints the median wall time and the export's size.

    python benchmarks/report_and_export.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

STORES = [f"{n:04d}" for n in range(1, 12)]
PRODUCTS = 400


def fill(table, last_day: dt.date, days: int) -> None:
    for back in range(days):
        day = last_day - dt.timedelta(days=back)
        iso = day.isoformat()
        nets = {store: Decimal(3000 + 97 * n + back) for n, store in enumerate(STORES)}
        items = [
            {
                "PK": f"STORE#{store}",
                "SK": f"DATE#{iso}",
                "GSI1PK": f"DATE#{iso}",
                "GSI1SK": f"STORE#{store}",
                "item_type": "STORE_DAY_SUMMARY",
                "store_id": store,
                "date": iso,
                "total_sales": net + 100,
                "total_discount": Decimal(100),
                "net_sales": net,
                "transaction_count": 300,
                "line_item_count": 900,
                "item_count": 1500,
                "unique_customers": 250,
                "avg_transaction": (net / 300).quantize(Decimal("0.01")),
                "payment_breakdown": {"cash": net / 2, "credit": net / 4, "gift_card": net / 4},
            }
            for store, net in nets.items()
        ]
        total = sum(nets.values(), Decimal(0))
        items.append(
            {
                "PK": f"DATE#{iso}",
                "SK": "SUMMARY#COMPANY",
                "item_type": "COMPANY_SUMMARY",
                "date": iso,
                "total_sales": total + 1100,
                "total_discount": Decimal(1100),
                "net_sales": total,
                "transaction_count": 3300,
                "item_count": 16500,
                "avg_transaction": Decimal("10.00"),
                "avg_net_sales_per_store": total / 11,
                "stores_reported": 11,
                "stores_expected": 11,
                "reported_stores": STORES,
                "missing_stores": [],
                "best_store": {"store_id": "0011", "net_sales": nets["0011"]},
                "worst_store": {"store_id": "0001", "net_sales": nets["0001"]},
                "payment_breakdown": {"cash": total / 2, "credit": total / 4, "gift_card": total / 4},
            }
        )
        items += [
            {
                "PK": f"DATE#{iso}",
                "SK": f"PRODUCT#SKU-{n:04d}",
                "GSI1PK": f"PRODUCT#SKU-{n:04d}",
                "GSI1SK": f"DATE#{iso}",
                "item_type": "PRODUCT_DAY",
                "date": iso,
                "sku": f"SKU-{n:04d}",
                "name": f"Product {n}",
                "units": 500 - n,
                "gross_revenue": Decimal(5000 - n),
                "net_revenue": Decimal(4900 - n),
                "stores_sold": 11,
                "rank": n,
            }
            for n in range(1, PRODUCTS + 1)
        ]
        for kind, count, fields in (
            ("anomaly", 15, {"severity": "warning", "store_id": "0003", "type": "sudden_drop", "metric_value": 1.0}),
            ("trend", 5, {"type": "product_trend", "significance": "medium", "trend_direction": "up"}),
            ("recommendation", 8, {"priority": "medium", "category": "inventory", "affected_stores": STORES[:3]}),
        ):
            items += [
                {
                    "PK": f"DATE#{iso}",
                    "SK": f"INSIGHT#{kind.upper()}#{kind}-{n}",
                    "item_type": "INSIGHT",
                    "date": iso,
                    "insight_type": kind,
                    "insight_id": f"{kind}-{n}",
                    "engine": "rules",
                    "title": f"{kind} number {n}",
                    "description": "A sentence of explanation. " * 4,
                    **fields,
                }
                for n in range(count)
            ]
        table.put_items(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from sales_platform.domain.daily_report import ReportInputs, build_daily_report
    from sales_platform.resources.configurable import PlatformConfig
    from sales_platform.resources.local_object_store import LocalObjectStore
    from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable
    from sales_platform.services import day_items
    from sales_platform.services.bi_export_versions import write_export
    from sales_platform.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="sales-platform-bench-") as folder:
        settings = load_settings(SALES_PLATFORM_HOME=folder, _env_file=None)
        table = SqliteMetricsTable(Path(folder) / "sales.db")
        bucket = LocalObjectStore(Path(folder) / "bucket")
        day = settings.stores.today()
        started = time.perf_counter()
        fill(table, day, settings.reporting.bi_export_days)
        print(
            f"table filled: {settings.reporting.bi_export_days} days x {len(STORES)} stores, {PRODUCTS} products/day "
            f"in {time.perf_counter() - started:.1f} s"
        )

        def report() -> int:
            company = day_items.company_summary(table, day)
            history = [
                (d, (day_items.company_summary(table, d) or {}).get("net_sales"))
                for d in day_items.days_ending(day, 30)
            ]
            built = build_daily_report(
                ReportInputs(
                    day,
                    company,
                    day_items.store_summaries(table, day),
                    day_items.product_days(table, day),
                    day_items.insights(table, day),
                    history,
                    STORES,
                )
            )
            return len(built.text) + len(built.email_html) + sum(len(c.png) for c in built.charts)

        for name, work in (
            ("report", report),
            ("export", lambda: write_export(bucket, table, PlatformConfig.from_settings(settings), day)),
        ):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                work()
                times.append(time.perf_counter() - started)
            print(
                f"{name:7} median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) over {args.repeat} runs"
            )
        size = sum(info.size for info in bucket.list(settings.storage.quicksight_prefix + "exports/"))
        print(f"export size on disk (current + previous set): {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
