"""How long the API takes to build the dashboard's two answers from table items it has already
read, before caching: `/analytics` for one day and `/trends` over 30 and 366 days, for 11 stores
and 400 products a day (the trend lines of every store and of the 10 products shown included).

    python benchmarks/dashboard_views.py [--stores 11] [--products 400] [--repeat 5]

Prints the best of `--repeat` runs per answer, in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from decimal import Decimal

from sales_platform.domain.dashboard_analytics import analytics_view
from sales_platform.domain.dashboard_trends import trends_view

END = dt.date(2025, 11, 27)


def store_day(store_id: str, day: str, rng: random.Random) -> dict:
    gross = Decimal(rng.randint(500_000, 900_000)) / 100
    discount = (gross / 50).quantize(Decimal("0.01"))
    transactions = rng.randint(200, 400)
    return {
        "item_type": "STORE_DAY_SUMMARY",
        "store_id": store_id,
        "date": day,
        "total_sales": gross,
        "total_discount": discount,
        "net_sales": gross - discount,
        "transaction_count": transactions,
        "line_item_count": transactions * 3,
        "item_count": transactions * 5,
        "unique_customers": transactions,
        "avg_transaction": ((gross - discount) / transactions).quantize(Decimal("0.01")),
        "top_products": [],
        "payment_breakdown": {"cash": gross - discount},
        "first_sale_at": None,
        "last_sale_at": None,
        "source_file": "",
        "processed_key": "",
        "processed_at": "",
    }


def product_day(day: str, rank: int, rng: random.Random) -> dict:
    net = Decimal(rng.randint(1_000, 90_000)) / 100
    return {
        "item_type": "PRODUCT_DAY",
        "date": day,
        "sku": f"SKU-{rank:04d}",
        "name": f"Product {rank}",
        "units": rng.randint(1, 60),
        "gross_revenue": net,
        "net_revenue": net,
        "stores_sold": 5,
        "rank": rank,
    }


def best_ms(repeat: int, build) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=11)
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(42)
    stores = [f"{n:04d}" for n in range(1, args.stores + 1)]
    dates = [(END - dt.timedelta(days=n)).isoformat() for n in range(366)]
    summaries = {day: [store_day(store, day, rng) for store in stores] for day in dates}
    products = {day: [product_day(day, rank, rng) for rank in range(1, args.products + 1)] for day in dates}
    day = dates[0]
    print(f"{args.stores} stores, {args.products} products a day; best of {args.repeat}")
    ms = best_ms(args.repeat, lambda: analytics_view(day, dates, products[day], summaries[day], stores))
    print(f"  /analytics one day      {ms:8.1f} ms")
    for days in (30, 366):
        window = dates[:days]
        rows = [row for d in window for row in summaries[d]]
        product_rows = [row for d in window for row in products[d]]
        ms = best_ms(args.repeat, lambda: trends_view(days, dates, rows, product_rows))
        print(
            f"  /trends {days:3d} days        {ms:8.1f} ms  ({len(rows):,} store days, {len(product_rows):,} product days)"
        )


if __name__ == "__main__":
    main()
