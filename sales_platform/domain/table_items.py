"""Items of the metrics table for the store-day pipeline, keyed by `table_keys`: a rerun
replaces them, never adds a second copy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sales_platform.domain.money import to_cents
from sales_platform.domain.store_metrics import StoreDayMetrics
from sales_platform.domain.table_keys import item_keys, store_summary_index_key, store_summary_key, upload_tracking_key
from sales_platform.domain.utc_time import utc_timestamp


def sales_totals(metrics: Any) -> dict[str, Any]:
    """The figures a store's day and the company's day share, by the same definitions and
    names (gross `total_sales`, discounts, net, distinct transactions, lines, units, average
    net per transaction), rounded to cents here, where they leave for the table."""
    return {
        "total_sales": to_cents(metrics.total_sales),
        "total_discount": to_cents(metrics.total_discount),
        "net_sales": to_cents(metrics.net_sales),
        "transaction_count": metrics.transaction_count,
        "line_item_count": metrics.line_item_count,
        "item_count": metrics.item_count,
        "avg_transaction": to_cents(metrics.avg_transaction),
        "payment_breakdown": {method: to_cents(amount) for method, amount in metrics.payment_breakdown.items()},
    }


def store_day_summary_item(
    store_id: str,
    business_date: dt.date,
    metrics: StoreDayMetrics,
    *,
    source_file: str,
    processed_key: str,
    processed_at: dt.datetime,
) -> dict[str, Any]:
    day = business_date.isoformat()
    return {
        **item_keys(store_summary_key(store_id, day), store_summary_index_key(store_id, day)),
        "item_type": "STORE_DAY_SUMMARY",
        "store_id": store_id,
        "date": day,
        **sales_totals(metrics),
        "unique_customers": metrics.unique_customers,
        "top_products": [
            {"sku": p.sku, "name": p.name, "units": p.units, "net_revenue": to_cents(p.net_revenue)}
            for p in metrics.top_products
        ],
        "first_sale_at": metrics.first_sale_at,
        "last_sale_at": metrics.last_sale_at,
        "source_file": source_file,
        "processed_key": processed_key,
        "processed_at": utc_timestamp(processed_at),
    }


def upload_tracking_item(
    store_id: str,
    business_date: dt.date,
    *,
    source_file: str,
    source_version: str,
    rows: int,
    processed_at: dt.datetime,
) -> dict[str, Any]:
    """One per store and day: the day's completeness is the set of these items."""
    return {
        **item_keys(upload_tracking_key(store_id, business_date)),
        "item_type": "UPLOAD_TRACKING",
        "store_id": store_id,
        "date": business_date.isoformat(),
        "status": "processed",
        "source_file": source_file,
        "source_version": source_version,
        "rows": rows,
        "processed_at": utc_timestamp(processed_at),
    }
