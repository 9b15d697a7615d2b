"""One business day as the dashboard shows it (`GET /analytics`), from the table's items.

The store-day summaries are the day's facts and are there as soon as a store's file is
processed; the product days and insights come later, from the daily analysis. The KPIs are
always added up from the store summaries shown beside them (`compute_company_metrics`, the same
rule the analysis writes the company summary with), so the numbers on one screen agree with
each other even when a store reported after the analysis ran. Amounts stay exact decimals here;
rounding happens where they are serialised.

Every field the existing dashboard reads (`contracts/dashboard-fields.md`) is there under its
name, beside the platform's own: `kpis.total_transactions`, `total_items` and `store_count`,
`top_products[].units_sold` and `revenue`, `trends[].trend_type`, and a payment breakdown that
names every payment method.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sales_platform.domain.analysis_items import company_figures
from sales_platform.domain.company_metrics import StoreDay, compute_company_metrics
from sales_platform.domain.insight_levels import LEVELS, SEVERITIES, rank
from sales_platform.domain.money import to_cents
from sales_platform.domain.table_keys import KEY_ATTRIBUTES
from sales_platform.domain.upload_contract import PAYMENT_METHODS

Item = Mapping[str, Any]

TOP_PRODUCTS = 10
NO_DATA_MESSAGE = "No data available"
# Attributes that locate an item in the table; the dashboard has no use for them.
_TABLE_ATTRIBUTES = frozenset({*KEY_ATTRIBUTES, "item_type"})


def _public(item: Item) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in _TABLE_ATTRIBUTES}


def every_payment_method(breakdown: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """Amount per payment method of the upload contract, 0.00 for a method nobody used: the
    dashboard's pie chart reads each method by name."""
    breakdown = breakdown or {}
    return {method: to_cents(Decimal(breakdown.get(method) or 0)) for method in PAYMENT_METHODS}


def kpis_from_store_summaries(stores: Sequence[Item], expected_stores: Sequence[str]) -> dict[str, Any]:
    """The company's day added up from its store-day summaries (architecture.md definitions:
    gross `total_sales`, net = gross - discounts, distinct transactions per store summed,
    average transaction = net / transactions, payment mix in net), with the dashboard's names."""
    days = [StoreDay.from_item(store) for store in stores]
    # The figures do not depend on the date the metrics are labelled with.
    day = days[0].date if days else dt.date.min
    kpis = company_figures(compute_company_metrics(day, days, expected_stores))
    kpis["payment_breakdown"] = every_payment_method(kpis["payment_breakdown"])
    # The dashboard's names. The old system counted line items as transactions; this is the
    # distinct count (README: fields whose meaning differs).
    kpis["total_transactions"] = kpis["transaction_count"]
    kpis["total_items"] = kpis["item_count"]
    kpis["store_count"] = kpis["stores_reported"]
    return kpis


def _analysis_state(summary: Item | None, reported: list[str]) -> dict[str, Any]:
    if summary is None:
        return {"status": "pending", "trigger": None, "analyzed_at": None, "stores_analyzed": []}
    analyzed = sorted(summary.get("reported_stores") or [])
    return {
        # `outdated`: a store reported after the analysis ran; the next run will include it.
        "status": "complete" if analyzed == reported else "outdated",
        "trigger": summary.get("trigger"),
        "analyzed_at": summary.get("analyzed_at"),
        "stores_analyzed": analyzed,
    }


def _insights(items: Iterable[Item], insight_type: str) -> list[dict[str, Any]]:
    return [_public(item) for item in items if item.get("insight_type") == insight_type]


def _store_row(store: Item) -> dict[str, Any]:
    return {**_public(store), "payment_breakdown": every_payment_method(store.get("payment_breakdown"))}


def _top_product(product: Item) -> dict[str, Any]:
    return {**_public(product), "units_sold": product.get("units"), "revenue": product.get("net_revenue")}


def _trend(trend: Item) -> dict[str, Any]:
    return {**_public(trend), "trend_type": trend.get("type")}


def analytics_view(
    day: str,
    available_dates: Sequence[str],
    day_items: Sequence[Item],
    store_summaries: Sequence[Item],
    expected_stores: Sequence[str],
    requested_date: str | None = None,
) -> dict[str, Any]:
    """The `/analytics` answer for one day.

    `day_items` are the items under `DATE#<day>` (company summary, product days, insights,
    upload tracking); `store_summaries` the day's store-day summaries. `requested_date` is the
    day asked for, which differs from `day` when it had no data.
    """
    by_type: dict[str, list[Item]] = {}
    for item in day_items:
        by_type.setdefault(item.get("item_type", ""), []).append(item)
    summary = next(iter(by_type.get("COMPANY_SUMMARY", [])), None)
    stores = sorted(store_summaries, key=lambda store: store["store_id"])
    products = sorted(by_type.get("PRODUCT_DAY", []), key=lambda p: (p.get("rank") or 10**9, p.get("sku", "")))
    insights = by_type.get("INSIGHT", [])
    anomalies = sorted(
        _insights(insights, "anomaly"),
        key=lambda a: (rank(SEVERITIES, a.get("severity")), a.get("store_id") or "", a.get("insight_id", "")),
    )
    trends = sorted(
        _insights(insights, "trend"),
        key=lambda t: (rank(LEVELS, t.get("significance")), t.get("insight_id", "")),
    )
    recommendations = sorted(
        _insights(insights, "recommendation"),
        key=lambda r: (rank(LEVELS, r.get("priority")), r.get("insight_id", "")),
    )
    return {
        "date": day,
        "requested_date": requested_date,
        "available_dates": list(available_dates),
        "kpis": kpis_from_store_summaries(stores, expected_stores),
        "stores": [_store_row(store) for store in stores],
        "top_products": [_top_product(product) for product in products[:TOP_PRODUCTS]],
        "anomalies": anomalies,
        "trends": [_trend(trend) for trend in trends],
        "recommendations": recommendations,
        "analysis": _analysis_state(summary, [store["store_id"] for store in stores]),
    }


def no_data_view(requested_date: str | None, expected_stores: Sequence[str]) -> dict[str, Any]:
    """What the old API answered before any file was processed: a message, zeroed KPIs and
    empty lists, with 200 (the dashboard shows the message rather than an error)."""
    return {
        "message": NO_DATA_MESSAGE,
        "date": requested_date,
        "requested_date": requested_date,
        "available_dates": [],
        "kpis": kpis_from_store_summaries([], expected_stores),
        "stores": [],
        "top_products": [],
        "anomalies": [],
        "trends": [],
        "recommendations": [],
        "analysis": _analysis_state(None, []),
    }
