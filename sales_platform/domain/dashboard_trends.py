"""Days side by side as the dashboard charts them (`GET /trends`), from the table's items.

The window is the last `days` calendar days ending at the latest day with data (not today: a
platform whose newest files are a week old still shows a full chart). Only days with data
appear in `dates`, and a store that did not report on a day has no `<store>_sales` key on it,
which a chart draws as a gap; a zero would claim the store sold nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sales_platform.domain.money import to_cents

Item = Mapping[str, Any]

TOP_PRODUCTS = 10
MAX_DAYS = 366


def window(available_dates: Sequence[str], days: int) -> tuple[str | None, str | None, list[str]]:
    """(first day, last day, days with data in between, oldest first) of a `days`-long window
    ending at the newest available day."""
    if not available_dates:
        return None, None, []
    end = max(available_dates)
    start = (dt.date.fromisoformat(end) - dt.timedelta(days=days - 1)).isoformat()
    return start, end, sorted(day for day in available_dates if start <= day <= end)


def _decimal(value: Any) -> Decimal:
    return Decimal(value or 0)


def _store_summary(store_id: str, rows: Sequence[Item]) -> dict[str, Any]:
    gross = sum((_decimal(row.get("total_sales")) for row in rows), Decimal(0))
    discount = sum((_decimal(row.get("total_discount")) for row in rows), Decimal(0))
    net = gross - discount
    transactions = sum(int(row.get("transaction_count") or 0) for row in rows)
    ranked = sorted(rows, key=lambda row: (_decimal(row.get("net_sales")), row["date"]))
    days = len(rows)
    return {
        "store_id": store_id,
        "days_reported": days,
        "total_sales": to_cents(gross),
        "total_discount": to_cents(discount),
        "net_sales": to_cents(net),
        "total_transactions": transactions,
        "avg_daily_sales": to_cents(gross / days) if days else Decimal("0.00"),
        "avg_daily_net_sales": to_cents(net / days) if days else Decimal("0.00"),
        "avg_transaction": to_cents(net / transactions) if transactions else Decimal("0.00"),
        "best_day": {"date": ranked[-1]["date"], "net_sales": to_cents(_decimal(ranked[-1].get("net_sales")))} if rows else None,
        "worst_day": {"date": ranked[0]["date"], "net_sales": to_cents(_decimal(ranked[0].get("net_sales")))} if rows else None,
    }


def _product_trends(product_days: Sequence[Item]) -> list[dict[str, Any]]:
    products: dict[str, dict[str, Any]] = {}
    for row in sorted(product_days, key=lambda row: row["date"]):
        product = products.setdefault(
            row["sku"],
            {"sku": row["sku"], "name": row.get("name"), "units": 0, "gross_revenue": Decimal(0),
             "net_revenue": Decimal(0), "days_sold": 0, "daily": []},
        )
        product["name"] = row.get("name") or product["name"]  # the latest name
        product["units"] += int(row.get("units") or 0)
        product["gross_revenue"] += _decimal(row.get("gross_revenue"))
        product["net_revenue"] += _decimal(row.get("net_revenue"))
        product["days_sold"] += 1
        product["daily"].append(
            {"date": row["date"], "units": int(row.get("units") or 0), "net_revenue": to_cents(_decimal(row.get("net_revenue")))}
        )
    ranked = sorted(products.values(), key=lambda p: (-p["net_revenue"], p["sku"]))[:TOP_PRODUCTS]
    for product in ranked:
        product["gross_revenue"] = to_cents(product["gross_revenue"])
        product["net_revenue"] = to_cents(product["net_revenue"])
    return ranked


def trends_view(
    days: int,
    available_dates: Sequence[str],
    store_summaries: Sequence[Item],
    product_days: Sequence[Item],
    store_id: str | None = None,
) -> dict[str, Any]:
    """The `/trends` answer. `store_summaries` and `product_days` are the items of the days in
    `window(available_dates, days)`; with `store_id` only that store's summaries count
    (product trends stay company-wide: product days are not kept per store)."""
    start, end, window_dates = window(available_dates, days)
    in_window = set(window_dates)
    rows = [row for row in store_summaries if row["date"] in in_window and (store_id is None or row["store_id"] == store_id)]
    stores = sorted({row["store_id"] for row in rows})
    dates = sorted({row["date"] for row in rows})  # one store's chart skips the days it did not report
    by_date: dict[str, list[Item]] = {day: [] for day in dates}
    for row in rows:
        by_date[row["date"]].append(row)
    series = []
    for day in dates:
        point: dict[str, Any] = {"date": day}
        day_rows = sorted(by_date[day], key=lambda row: row["store_id"])
        point["total_sales"] = to_cents(sum((_decimal(row.get("total_sales")) for row in day_rows), Decimal(0)))
        point["total_transactions"] = sum(int(row.get("transaction_count") or 0) for row in day_rows)
        for row in day_rows:
            point[f"{row['store_id']}_sales"] = to_cents(_decimal(row.get("total_sales")))
            point[f"{row['store_id']}_transactions"] = int(row.get("transaction_count") or 0)
        series.append(point)
    return {
        "stores": stores,
        "dates": dates,
        "time_series": series,
        "store_summaries": [
            _store_summary(store, [row for row in rows if row["store_id"] == store]) for store in stores
        ],
        "product_trends": _product_trends([row for row in product_days if row["date"] in in_window]),
        "days_requested": days,
        "available_dates": list(available_dates),
        "start_date": start,
        "end_date": end,
        "store_id": store_id,
    }
