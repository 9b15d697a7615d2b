"""How the daily analysis reads what earlier steps left: store-day summaries and upload tracking
from the table, the day's Parquet files from the bucket, product figures of earlier days.

Each step reads for itself through the `bucket` and `table` resources, so any step of any day
can be re-run alone, from the UI, a backfill or another process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sales_platform.domain.analysis_items import PRODUCT_PREFIX, UPLOAD_TRACKING_PREFIX, day_pk
from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.product_metrics import ProductDay, compute_product_metrics
from sales_platform.domain.trends import ProductUnits
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore

# Parallel downloads when the bucket is S3; a local folder hands out paths at once.
DOWNLOAD_THREADS = 8


def store_days(table: MetricsTable, business_date: dt.date) -> list[StoreDay]:
    """Every store-day summary of the day, through the GSI1 `DATE#<d>` index."""
    return [
        StoreDay.from_item(item)
        for item in table.query_index(day_pk(business_date), "STORE#")
        if item.get("item_type") == "STORE_DAY_SUMMARY"
    ]


def store_days_by_date(table: MetricsTable, dates: Iterable[dt.date]) -> dict[dt.date, list[StoreDay]]:
    return {day: store_days(table, day) for day in dates}


def upload_tracking(table: MetricsTable, business_date: dt.date, expected_stores: Iterable[str]) -> list[dict[str, Any]]:
    """The day's upload tracking items of the expected stores: its completeness."""
    expected = set(expected_stores)
    return [item for item in table.query(day_pk(business_date), UPLOAD_TRACKING_PREFIX) if item.get("store_id") in expected]


def stored_products(table: MetricsTable, business_date: dt.date) -> list[ProductDay]:
    return [
        ProductDay(
            sku=item["sku"],
            name=item["name"],
            units=int(item["units"]),
            gross_revenue=item["gross_revenue"],
            net_revenue=item["net_revenue"],
            stores_sold=int(item["stores_sold"]),
            rank=int(item["rank"]),
        )
        for item in table.query(day_pk(business_date), PRODUCT_PREFIX)
    ]


@contextlib.contextmanager
def local_copies(bucket: ObjectStore, keys: Sequence[str]) -> Iterator[list[Path]]:
    """Local paths of the objects, all held open until the block ends."""
    with contextlib.ExitStack() as stack:

        def open_copy(key: str) -> tuple[contextlib.AbstractContextManager[Path], Path]:
            manager = bucket.local_copy(key)
            return manager, manager.__enter__()

        with ThreadPoolExecutor(min(DOWNLOAD_THREADS, max(1, len(keys)))) as pool:
            futures = [pool.submit(open_copy, key) for key in keys]
        paths, failure = [], None
        for future in futures:
            try:
                manager, path = future.result()
            except Exception as error:  # the copies that did open are still closed below
                failure = failure or error
                continue
            stack.push(manager.__exit__)
            paths.append(path)
        if failure is not None:
            raise failure
        yield paths


def day_products(bucket: ObjectStore, stores: Sequence[StoreDay]) -> list[ProductDay]:
    """Every product of the day, from every line of the given stores' Parquet files."""
    with local_copies(bucket, [store.processed_key for store in stores if store.processed_key]) as paths:
        return compute_product_metrics(paths)


def units_by_sku(products: Iterable[ProductDay]) -> dict[str, ProductUnits]:
    return {p.sku: ProductUnits(p.name, p.units) for p in products}


def earlier_product_units(
    table: MetricsTable, bucket: ObjectStore, days: dict[dt.date, list[StoreDay]], dates: Iterable[dt.date]
) -> list[dict[str, ProductUnits]]:
    """Units by SKU for each earlier day that has sales: the day's product items, or, for a
    day not analysed yet (still incomplete, or analysed in parallel), its Parquet lines."""
    found = []
    for day in dates:
        products = stored_products(table, day)
        if not products and days.get(day):
            products = day_products(bucket, days[day])
        if products:
            found.append(units_by_sku(products))
    return found
