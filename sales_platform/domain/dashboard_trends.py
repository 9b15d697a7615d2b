"""Days side by side as the dashboard charts them (`GET /trends`), from the table's items.

The window is the last `days` calendar days ending at the latest day with data (not today: a
platform whose newest files are a week old still shows a full chart). Only days with data
appear in `dates`. On each `time_series` point every store of the window has its
`<store>_sales` and `<store>_transactions`, 0 on a day it sent no file, as the dashboard's
charts expect; `reported_stores` says which stores did report that day, so a client can tell a
missing file from a day without sales.

`trend_percent`, of a store and of a product, is the change over the window of a straight line
through every day (`sales_trend`), not the old first-day-against-last-day comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from sales_platform.domain.money import to_cents
from sales_platform.domain.wording import one_decimal

Item = Mapping[str, Any]

TOP_PRODUCTS = 10
MAX_DAYS = 366
NO_DATA_MESSAGE = "No data available"
# A line through fewer days than this says nothing: `insufficient_data`.
MIN_TREND_DAYS = 3
# |trend_percent| under this is `stable`.
STABLE_BELOW_PERCENT = Decimal(5)


def window(available_dates: Sequence[str], days: int) -> tuple[str | None, str | None, list[str]]:
    """(first day, last day, days with data in between, oldest first) of a `days`-long window
    ending at the newest available day."""
    if not available_dates:
        return None, None, []
    end = max(available_dates)
    start = (dt.date.fromisoformat(end) - dt.timedelta(days=days - 1)).isoformat()
    return start, end, sorted(day for day in available_dates if start <= day <= end)


def sales_trend(daily: Sequence[tuple[str, Decimal]]) -> tuple[Decimal, str]:
    """(trend_percent, direction) of a day -> amount series.

    The slope is Theil-Sen's: the median, over every pair of days, of the change per calendar
    day between them, so one outage or one promotion day barely moves it, unlike a comparison
    of the first day with the last. trend_percent is that slope over the span of the series,
    in percent of the average day (one decimal); the direction is `increasing`, `decreasing`,
    `stable` (under STABLE_BELOW_PERCENT) or `insufficient_data` (under MIN_TREND_DAYS days).
    """
    if len(daily) < MIN_TREND_DAYS:
        return Decimal("0.0"), "insufficient_data"
    points = sorted((dt.date.fromisoformat(day).toordinal(), float(amount)) for day, amount in daily)
    days = np.array([day for day, _ in points], dtype=float)
    amounts = np.array([amount for _, amount in points])
    average = float(amounts.mean())
    if average <= 0:
        return Decimal("0.0"), "stable"
    # Every pair once (366 days: 66,795 pairs), as arrays: the days of a series are distinct.
    earlier, later = np.triu_indices(len(points), k=1)
    slope = float(np.median((amounts[later] - amounts[earlier]) / (days[later] - days[earlier])))
    percent = one_decimal(slope * (days[-1] - days[0]) / average * 100)
    if abs(percent) < STABLE_BELOW_PERCENT:
        return percent, "stable"
    return percent, "increasing" if percent > 0 else "decreasing"


def _decimal(value: Any) -> Decimal:
    return Decimal(value or 0)


def _store_summary(store_id: str, rows: Sequence[Item]) -> dict[str, Any]:
    gross = sum((_decimal(row.get("total_sales")) for row in rows), Decimal(0))
    discount = sum((_decimal(row.get("total_discount")) for row in rows), Decimal(0))
    net = gross - discount
    transactions = sum(int(row.get("transaction_count") or 0) for row in rows)
    ranked = sorted(rows, key=lambda row: (_decimal(row.get("net_sales")), row["date"]))
    days = len(rows)
    trend_percent, trend_direction = sales_trend([(row["date"], _decimal(row.get("total_sales"))) for row in rows])
    return {
        "store_id": store_id,
        "days_reported": days,
        "days_with_data": days,
        "total_sales": to_cents(gross),
        "total_discount": to_cents(discount),
        "net_sales": to_cents(net),
        "total_transactions": transactions,
        "avg_daily_sales": to_cents(gross / days) if days else Decimal("0.00"),
        "avg_daily_net_sales": to_cents(net / days) if days else Decimal("0.00"),
        "avg_transaction": to_cents(net / transactions) if transactions else Decimal("0.00"),
        "best_day": {"date": ranked[-1]["date"], "net_sales": to_cents(_decimal(ranked[-1].get("net_sales")))}
        if rows
        else None,
        "worst_day": {"date": ranked[0]["date"], "net_sales": to_cents(_decimal(ranked[0].get("net_sales")))}
        if rows
        else None,
        "trend_percent": trend_percent,
        "trend_direction": trend_direction,
    }


def _product_trends(product_days: Sequence[Item]) -> list[dict[str, Any]]:
    """The 10 best products of the window by net revenue. Product days exist for the days the
    daily analysis has run; on such a day a product that sold nothing counts as 0."""
    analysed = sorted({row["date"] for row in product_days})
    rows_of: dict[str, list[Item]] = {}
    for row in product_days:
        rows_of.setdefault(row["sku"], []).append(row)
    net_of = {sku: sum((_decimal(row.get("net_revenue")) for row in rows), Decimal(0)) for sku, rows in rows_of.items()}
    ranked = sorted(net_of, key=lambda sku: (-net_of[sku], sku))[:TOP_PRODUCTS]
    answers = []
    for sku in ranked:
        rows = sorted(rows_of[sku], key=lambda row: row["date"])
        by_day = {row["date"]: row for row in rows}
        history = [
            {
                "date": day,
                "units_sold": int(by_day[day].get("units") or 0) if day in by_day else 0,
                "revenue": to_cents(_decimal(by_day[day].get("net_revenue"))) if day in by_day else Decimal("0.00"),
            }
            for day in analysed
        ]
        units = sum(point["units_sold"] for point in history)
        net = to_cents(net_of[sku])
        trend_percent, trend_direction = sales_trend([(point["date"], point["revenue"]) for point in history])
        answers.append(
            {
                "sku": sku,
                "name": next((row.get("name") for row in reversed(rows) if row.get("name")), None),  # the latest name
                "units": units,
                "gross_revenue": to_cents(sum((_decimal(row.get("gross_revenue")) for row in rows), Decimal(0))),
                "net_revenue": net,
                "days_sold": len(rows),
                # The dashboard's names: units and net revenue over the window, per analysed day.
                "total_units_sold": units,
                "total_revenue": net,
                "avg_daily_units": one_decimal(Decimal(units) / len(analysed)),
                "avg_daily_revenue": to_cents(net_of[sku] / len(analysed)),
                "trend_direction": trend_direction,
                "trend_percent": trend_percent,
                "daily_history": history,
            }
        )
    return answers


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
    rows = [
        row for row in store_summaries if row["date"] in in_window and (store_id is None or row["store_id"] == store_id)
    ]
    stores = sorted({row["store_id"] for row in rows})
    dates = sorted({row["date"] for row in rows})  # one store's chart skips the days it did not report
    by_date: dict[str, dict[str, Item]] = {day: {} for day in dates}
    for row in rows:
        by_date[row["date"]][row["store_id"]] = row
    series = []
    for day in dates:
        reported = by_date[day]
        point: dict[str, Any] = {
            "date": day,
            "total_sales": to_cents(sum((_decimal(row.get("total_sales")) for row in reported.values()), Decimal(0))),
            "total_transactions": sum(int(row.get("transaction_count") or 0) for row in reported.values()),
            "reported_stores": sorted(reported),
        }
        for store in stores:
            row = reported.get(store, {})
            point[f"{store}_sales"] = to_cents(_decimal(row.get("total_sales")))
            point[f"{store}_transactions"] = int(row.get("transaction_count") or 0)
        series.append(point)
    answer: dict[str, Any] = {"message": NO_DATA_MESSAGE} if not dates else {}
    return {
        **answer,
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
