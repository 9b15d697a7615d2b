"""One business day as the dashboard shows it (`GET /analytics`), from the table's items.

The store-day summaries are the day's facts and are there as soon as a store's file is
processed; the company summary, product days and insights come later, from the daily analysis.
So the KPIs are taken from the company summary only while it covers exactly the stores that
have reported, and are otherwise added up from the store summaries with the same definitions:
the numbers on one screen always agree with each other. Amounts stay exact decimals here;
rounding happens where they are serialised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sales_platform.domain.money import to_cents

Item = Mapping[str, Any]

TOP_PRODUCTS = 10
# Attributes that locate an item in the table; the dashboard has no use for them.
_TABLE_ATTRIBUTES = frozenset({"PK", "SK", "GSI1PK", "GSI1SK", "item_type"})
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
_PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def date_key(day: str) -> str:
    return f"DATE#{day}"


def dates_from_sort_keys(sort_keys: Iterable[str]) -> list[str]:
    """`DATE#2025-11-27` sort keys of store-day summaries -> the distinct days, newest first."""
    days = {key.removeprefix("DATE#") for key in sort_keys if key.startswith("DATE#")}
    return sorted(days, reverse=True)


def parse_day(text: str) -> dt.date:
    """A `YYYY-MM-DD` day, or ValueError saying what is wrong with it."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or not (text[:4] + text[5:7] + text[8:]).isascii():
        raise ValueError(f"{text!r} is not a date in YYYY-MM-DD form")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None


def _public(item: Item) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in _TABLE_ATTRIBUTES}


def _sum(items: Sequence[Item], name: str) -> Decimal:
    return sum((Decimal(item.get(name) or 0) for item in items), Decimal(0))


def _ratio(numerator: Decimal, denominator: int) -> Decimal:
    return to_cents(numerator / denominator) if denominator else Decimal("0.00")


def _by_net_sales(store: Item) -> dict[str, Any]:
    """The best or worst store: ranked by net, its gross beside it as the old system showed."""
    return {
        "store_id": store["store_id"],
        "net_sales": to_cents(store.get("net_sales") or 0),
        "total_sales": to_cents(store.get("total_sales") or 0),
    }


def kpis_from_store_summaries(stores: Sequence[Item], expected_stores: Sequence[str]) -> dict[str, Any]:
    """The company's day added up from its store-day summaries (architecture.md definitions:
    gross `total_sales`, net = gross - discounts, distinct transactions per store summed,
    average transaction = net / transactions, payment mix in net)."""
    gross = _sum(stores, "total_sales")
    discount = _sum(stores, "total_discount")
    net = gross - discount
    transactions = int(_sum(stores, "transaction_count"))
    payments: dict[str, Decimal] = {}
    for store in stores:
        for method, amount in (store.get("payment_breakdown") or {}).items():
            payments[method] = payments.get(method, Decimal(0)) + Decimal(amount)
    reported = sorted(store["store_id"] for store in stores)
    ranked = sorted(stores, key=lambda store: (-Decimal(store.get("net_sales") or 0), store["store_id"]))
    return {
        "total_sales": to_cents(gross),
        "total_discount": to_cents(discount),
        "net_sales": to_cents(net),
        "transaction_count": transactions,
        "line_item_count": int(_sum(stores, "line_item_count")),
        "item_count": int(_sum(stores, "item_count")),
        "avg_transaction": _ratio(net, transactions),
        "avg_net_sales_per_store": _ratio(net, len(stores)),
        "avg_store_sales": _ratio(gross, len(stores)),  # gross per store, the old name and meaning
        "stores_reported": len(reported),
        "stores_expected": len(expected_stores),
        "reported_stores": reported,
        "missing_stores": sorted(set(expected_stores) - set(reported)),
        "best_store": _by_net_sales(ranked[0]) if ranked else None,
        "worst_store": _by_net_sales(ranked[-1]) if ranked else None,
        "payment_breakdown": {method: to_cents(payments[method]) for method in sorted(payments)},
    }


def _kpis_from_company_summary(summary: Item, stores: Sequence[Item]) -> dict[str, Any]:
    kpis = {
        name: summary.get(name)
        for name in (
            "total_sales", "total_discount", "net_sales", "transaction_count", "line_item_count", "item_count",
            "avg_transaction", "avg_net_sales_per_store", "avg_store_sales", "stores_reported", "stores_expected",
            "reported_stores", "missing_stores", "best_store", "worst_store", "payment_breakdown",
        )
    }
    kpis["reported_stores"] = sorted(kpis["reported_stores"] or [])
    kpis["missing_stores"] = sorted(kpis["missing_stores"] or [])
    # A summary written before the gross figures sat beside the net ones: from the same stores.
    by_id = {store["store_id"]: store for store in stores}
    if kpis["avg_store_sales"] is None:
        kpis["avg_store_sales"] = _ratio(Decimal(kpis["total_sales"] or 0), len(kpis["reported_stores"]))
    for rank in ("best_store", "worst_store"):
        if kpis[rank] and "total_sales" not in kpis[rank] and kpis[rank].get("store_id") in by_id:
            kpis[rank] = _by_net_sales(by_id[kpis[rank]["store_id"]])
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


def analytics_view(
    day: str,
    available_dates: Sequence[str],
    day_items: Sequence[Item],
    store_summaries: Sequence[Item],
    expected_stores: Sequence[str],
) -> dict[str, Any]:
    """The `/analytics` answer for one day.

    `day_items` are the items under `DATE#<day>` (company summary, product days, insights,
    upload tracking); `store_summaries` the day's store-day summaries.
    """
    by_type: dict[str, list[Item]] = {}
    for item in day_items:
        by_type.setdefault(item.get("item_type", ""), []).append(item)
    summary = next(iter(by_type.get("COMPANY_SUMMARY", [])), None)
    stores = sorted(store_summaries, key=lambda store: store["store_id"])
    reported = [store["store_id"] for store in stores]
    analysis = _analysis_state(summary, reported)
    if analysis["status"] == "complete":
        kpis = _kpis_from_company_summary(summary, stores)  # type: ignore[arg-type]
    else:
        kpis = kpis_from_store_summaries(stores, expected_stores)
    kpis["total_transactions"] = kpis["transaction_count"]  # the name the trends series use

    products = sorted(by_type.get("PRODUCT_DAY", []), key=lambda p: (p.get("rank") or 10**9, p.get("sku", "")))
    insights = by_type.get("INSIGHT", [])
    anomalies = sorted(
        _insights(insights, "anomaly"),
        key=lambda a: (_SEVERITY_ORDER.get(a.get("severity"), 9), a.get("store_id") or "", a.get("insight_id", "")),
    )
    trends = sorted(
        _insights(insights, "trend"),
        key=lambda t: (_PRIORITY_ORDER.get(t.get("significance"), 9), t.get("insight_id", "")),
    )
    recommendations = sorted(
        _insights(insights, "recommendation"),
        key=lambda r: (_PRIORITY_ORDER.get(r.get("priority"), 9), r.get("insight_id", "")),
    )
    return {
        "date": day,
        "available_dates": list(available_dates),
        "kpis": kpis,
        "stores": [_public(store) for store in stores],
        "top_products": [_public(product) for product in products[:TOP_PRODUCTS]],
        "anomalies": anomalies,
        "trends": trends,
        "recommendations": recommendations,
        "analysis": analysis,
    }
