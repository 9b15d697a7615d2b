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

from sales_platform.domain.analysis_items import read_document
from sales_platform.domain.anomalies import Baskets
from sales_platform.domain.company_metrics import StoreDay
from sales_platform.domain.product_metrics import ProductDay, compute_product_metrics
from sales_platform.domain.storage_layout import StorageLayout
from sales_platform.domain.store_baskets import StoreBaskets, baskets_by_store, counts_from
from sales_platform.domain.table_keys import PRODUCT_PREFIX, STORE_PREFIX, UPLOAD_TRACKING_PREFIX, day_key
from sales_platform.domain.trends import ProductUnits
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore

# Parallel downloads when the bucket is S3; a local folder hands out paths at once.
DOWNLOAD_THREADS = 8


def store_days(table: MetricsTable, business_date: dt.date) -> list[StoreDay]:
    """Every store-day summary of the day, through the GSI1 `DATE#<d>` index."""
    return [
        StoreDay.from_item(item)
        for item in table.query_index(day_key(business_date), STORE_PREFIX)
        if item.get("item_type") == "STORE_DAY_SUMMARY"
    ]


def store_days_by_date(table: MetricsTable, dates: Iterable[dt.date]) -> dict[dt.date, list[StoreDay]]:
    return {day: store_days(table, day) for day in dates}


def upload_tracking(
    table: MetricsTable, business_date: dt.date, expected_stores: Iterable[str]
) -> list[dict[str, Any]]:
    """The day's upload tracking items of the expected stores: its completeness."""
    expected = set(expected_stores)
    return [
        item for item in table.query(day_key(business_date), UPLOAD_TRACKING_PREFIX) if item.get("store_id") in expected
    ]


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
        for item in table.query(day_key(business_date), PRODUCT_PREFIX)
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


def day_products_and_baskets(
    bucket: ObjectStore, stores: Sequence[StoreDay]
) -> tuple[list[ProductDay], dict[str, StoreBaskets], dict[str, str]]:
    """The day's products, and each store's transactions by SKU and payment method, from one
    copy of each store's Parquet file (one download each on S3)."""
    keyed = [(store.store_id, store.processed_key) for store in stores if store.processed_key]
    with local_copies(bucket, [key for _, key in keyed]) as paths:
        products = compute_product_metrics(paths)
        baskets = baskets_by_store({store_id: path for (store_id, _), path in zip(keyed, paths)})
    return products, baskets, {p.sku: p.name for p in products}


def stored_baskets(
    bucket: ObjectStore,
    layout: StorageLayout,
    business_date: dt.date,
    product_days: Iterable[dt.date],
    payment_days: Iterable[dt.date],
) -> Baskets | None:
    """The day's transactions by store, SKU and payment method, with the product counts of
    `product_days` and the payment counts of `payment_days` that exist (the documents the
    product step leaves); None when the day has none."""

    def document(day: dt.date, name: str) -> dict[str, Any] | None:
        key = layout.analysis_document_key(day, name)
        return read_document(bucket.read_bytes(key)) if bucket.exists(key) else None

    def stores(products: dict[str, Any] | None, payments: dict[str, Any] | None) -> dict[str, StoreBaskets]:
        by_product, by_payment = counts_from(products or {}), counts_from(payments or {})
        return {
            s: StoreBaskets(by_product.get(s, {}), by_payment.get(s, {})) for s in sorted({*by_product, *by_payment})
        }

    products, payments = document(business_date, "store_products"), document(business_date, "store_payments")
    if products is None or payments is None:
        return None
    product_days, payment_days = set(product_days), set(payment_days)
    earlier = {}
    for day in sorted(product_days | payment_days):
        found = stores(
            document(day, "store_products") if day in product_days else None,
            document(day, "store_payments") if day in payment_days else None,
        )
        if found:
            earlier[day] = found
    return Baskets(stores(products, payments), earlier, products.get("names", {}))


def units_by_sku(products: Iterable[ProductDay]) -> dict[str, ProductUnits]:
    return {p.sku: ProductUnits(p.name, p.units) for p in products}


def earlier_product_units(
    table: MetricsTable, bucket: ObjectStore, days: dict[dt.date, list[StoreDay]], dates: Iterable[dt.date]
) -> dict[dt.date, dict[str, ProductUnits]]:
    """Units by SKU for each earlier day that has sales: the day's product items, or, for a
    day not analysed yet (still incomplete, or analysed in parallel), its Parquet lines."""
    found = {}
    for day in dates:
        products = stored_products(table, day)
        if not products and days.get(day):
            products = day_products(bucket, days[day])
        if products:
            found[day] = units_by_sku(products)
    return found
