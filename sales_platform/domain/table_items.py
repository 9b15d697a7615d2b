"""Items of the metrics table for the store-day pipeline, keyed as in architecture.md.

Keys are built from stable parts only (store, date), so writing an item again replaces it:
a rerun never adds a second copy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sales_platform.domain.money import to_cents
from sales_platform.domain.store_metrics import StoreDayMetrics


def store_day_key(store_id: str, business_date: dt.date) -> tuple[str, str]:
    return f"STORE#{store_id}", f"DATE#{business_date.isoformat()}"


def upload_tracking_key(store_id: str, business_date: dt.date) -> tuple[str, str]:
    return f"DATE#{business_date.isoformat()}", f"UPLOAD#STORE#{store_id}"


def utc_timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


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
    pk, sk = store_day_key(store_id, business_date)
    day = business_date.isoformat()
    return {
        "PK": pk,
        "SK": sk,
        "GSI1PK": f"DATE#{day}",
        "GSI1SK": f"STORE#{store_id}",
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
    pk, sk = upload_tracking_key(store_id, business_date)
    return {
        "PK": pk,
        "SK": sk,
        "item_type": "UPLOAD_TRACKING",
        "store_id": store_id,
        "date": business_date.isoformat(),
        "status": "processed",
        "source_file": source_file,
        "source_version": source_version,
        "rows": rows,
        "processed_at": utc_timestamp(processed_at),
    }
